"""Agent commands, carried out in the backend: the executor and a table of verbs.

`executor.py` reads the commands stream and does what every command needs (its seal, its
age, the sender's generation, at most once, one `command_result` each, isolation), each
desk's commands in order in a lane of their own (`lanes.py`: different desks' at the same
time); it then looks the command's name up in `verbs.py`'s table, `name -> handler`, and
awaits the handler.
A handler is a plain async function in a module of its own (or of its family, e.g.
`queues.py` for login/logout), taking what it needs explicitly and the `Request`; it raises
`CommandFailed` for a refusal the agent should read.

A new verb (warm transfer, conference, a supervisor's listen/whisper/barge) is one new module
plus one entry in the table (and its model in the edge's `protocol.py`).
"""
