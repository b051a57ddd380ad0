"""Community correction (社区矫正): subjects, schedules, check-ins, visits, talks, alerts."""
