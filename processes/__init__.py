"""Supervisors of the private servers: their shared base and Redis's (Asterisk's is in
`telephony.asterisk_process`)."""
