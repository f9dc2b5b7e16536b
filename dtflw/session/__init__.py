"""The composition root: the one place a run is wired. `open_flow` wires a flow for `init_flow`;
`open_local_session` builds the engine and the local workspace for `dtflw run|plan|check`, the pytest kit
and the export's planning."""
