"""Agent desktops: the websocket `edge` (stateless, any number of processes) and the `desk`
application inside the backend (pops, presence, figures, commands)."""
