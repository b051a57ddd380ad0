"""行政执法公示: publishable items offered by other apps (through hook points wired in
backend/wiring/registry.py), their deadlines in working days, de-identification, the public
site (no sign-in), withdrawal and take-down, and the yearly tallies the 统计年报 reads."""
