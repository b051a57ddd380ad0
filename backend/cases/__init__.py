"""Enforcement cases (执法案卷, 一案一卷一号) and the legal review of major decisions
(重大执法决定法制审核): the case file gathers activities, recordings and documents; a case
that needs review cannot be decided until the legal unit agrees."""
