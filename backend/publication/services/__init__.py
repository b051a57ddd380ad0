"""Every write of the publication app, split by sub-domain: ``items`` (offer, publish,
correct, exclude, withdraw, take down), ``tallies`` (the yearly aggregates), ``masking``
(de-identification, no Django) and ``report`` (the yearly statistics workbook)."""
