"""The text conversation as a typed state machine, with no store and no web in it.

`state` holds one frozen dataclass per mode and the saved form; `converse.respond` takes a
message to its mode's handler (`report`, `menus`, `language`, `tracking`), which returns a
`context.Result`: the new state, the reply, the take-up events and the action for the log.
`gate` answers what comes before the conversation (opt-out, limits, size). The batch layer
(sms/batch.py) loads the state, calls these and writes what they return.
"""
