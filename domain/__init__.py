"""The pure domain core: protocol data, commands, events, decide/apply. No I/O, no clock."""
