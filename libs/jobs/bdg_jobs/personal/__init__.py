"""Personal data in the event log, crypto-shredded (DESIGN.md 7, 9).

Each person (tenant, user) has a data key, kept wrapped by the master key in
``bdg_subject_keys``; an event's personal fields (``Event.personal``, the envelope's user id)
are stored sealed with the key of the person they are about. Erasing the person destroys the
key: every copy of those fields, in the immutable log and in every replay, reads ``[erased]``.
"""
