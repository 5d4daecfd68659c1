"""Use cases: one function per thing a user does. They check permission first, own the
transaction, and write outbox mail and audit events inside it."""
