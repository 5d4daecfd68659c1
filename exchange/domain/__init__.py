"""Pure domain logic: plain Python over plain data, no I/O, no ORM, no web."""
