"""Django-free media library: hashing, probing, integrity, derivatives and salvage.

Nothing here imports Django or ``backend``; every function works on file paths so it can
run and be tested in a worker on its own. See :func:`media.pipeline.process_original`.
"""
