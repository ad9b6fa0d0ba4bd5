"""The stateless websocket edge: desktops connect here, read the bus, send commands.

It needs no database and no Asterisk: what it knows comes from Redis (the bus, the snapshot
hashes, the published desk users) and from the tickets it verifies. So it imports nothing of
telephony, crm or the desk; from `config` only the one rule for secrets and where the state
directory keeps them (a gateway process reads the backend's generated secrets).
"""
