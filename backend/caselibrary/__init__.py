"""The case library (司法行政（法律服务）案例库): typical cases selected from closed case files
and correction records, de-identified, reviewed level by level under real names, searchable
once accepted."""
