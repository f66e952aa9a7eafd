"""The schema, as the numbered migrations that build it: the tables and why each column is there.

A migration, once shipped, is never edited: change the schema by appending a new one here
(sync/store/migrations.py applies them). A new sealed column is also named in
sync/store/keycheck.py's SEALED, so that key checks and rotations see it.
"""

from __future__ import annotations

#: A statement for both engines (SQLite's, translated for PostgreSQL by migrations.postgres_ddl), or
#: one for each engine where they differ in substance (None: nothing to do on that engine).
Statement = str | dict[str, str | None]

#: (number, what it adds, its statements), in order.
MIGRATIONS: list[tuple[int, str, list[Statement]]] = [
    (1, "outbox, status history, back-office state, requests, catalogue cache", [
        """CREATE TABLE submissions (
            id INTEGER PRIMARY KEY,
            reference TEXT NOT NULL UNIQUE,
            idempotency_key TEXT NOT NULL UNIQUE,
            channel TEXT NOT NULL CHECK (channel IN ('kiosk', 'sms', 'paper')),
            device_id TEXT NOT NULL,
            language TEXT NOT NULL,
            catalogue_version TEXT NOT NULL,
            service_code TEXT NOT NULL,
            backoffice TEXT NOT NULL DEFAULT 'default',
            state TEXT NOT NULL CHECK (state IN
                ('queued', 'sending', 'awaiting_id', 'accepted', 'needs_attention', 'cancelled', 'exported')),
            payload BLOB,
            contact BLOB,
            notify_phone BLOB,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            lease_owner TEXT,
            lease_expires_at TEXT,
            first_sent_at TEXT,
            service_request_id TEXT,
            token TEXT,
            accepted_at TEXT,
            council_status TEXT,
            closed_at TEXT,
            cancel_reason TEXT,
            contact_purged_at TEXT,
            purged_at TEXT
        )""",
        "CREATE INDEX submissions_due ON submissions (state, next_attempt_at)",
        """CREATE TABLE status_history (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions (id),
            status TEXT NOT NULL,
            notes TEXT,
            at TEXT NOT NULL,
            source TEXT NOT NULL
        )""",
        "CREATE INDEX status_history_submission ON status_history (submission_id, at)",
        """CREATE TABLE backoffice_state (
            name TEXT PRIMARY KEY,
            reachable INTEGER,
            checked_at TEXT,
            last_success_at TEXT,
            last_error TEXT,
            last_error_at TEXT,
            paused INTEGER NOT NULL DEFAULT 0,
            paused_reason TEXT
        )""",
        "CREATE TABLE requests (name TEXT PRIMARY KEY, requested_at TEXT NOT NULL)",
        """CREATE TABLE catalogue_cache (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            body TEXT NOT NULL
        )""",
    ]),
    (2, "offline gazetteer: addresses, their full-text index, import log", [
        # `id` is an explicit INTEGER PRIMARY KEY because the full-text index refers to rows by
        # rowid, and VACUUM may renumber an implicit rowid.
        """CREATE TABLE addresses (
            id INTEGER PRIMARY KEY,
            uprn TEXT NOT NULL UNIQUE,
            address TEXT NOT NULL,
            street TEXT NOT NULL DEFAULT '',
            number TEXT NOT NULL DEFAULT '',
            town TEXT NOT NULL DEFAULT '',
            postcode TEXT NOT NULL,
            postcode_key TEXT NOT NULL,
            lat REAL NOT NULL,
            lon REAL NOT NULL,
            sort_key TEXT NOT NULL,
            search_text TEXT NOT NULL
        )""",
        "CREATE INDEX addresses_postcode ON addresses (postcode_key, sort_key)",
        "CREATE INDEX addresses_street ON addresses (street, town)",
        # PostgreSQL: the gazetteer of a store there is a SQLite file of its own (docs/postgres.md).
        {"sqlite": """CREATE VIRTUAL TABLE addresses_fts USING fts5(
            search_text, content='addresses', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
        )""", "postgresql": None},
        """CREATE TABLE gazetteer_imports (
            id INTEGER PRIMARY KEY,
            imported_at TEXT NOT NULL,
            source TEXT NOT NULL,
            loaded INTEGER NOT NULL,
            skipped INTEGER NOT NULL,
            replaced INTEGER NOT NULL
        )""",
    ]),
    (3, "council updates by their own id; how far the updates feed has been read", [
        "ALTER TABLE status_history ADD COLUMN external_id TEXT",
        "CREATE UNIQUE INDEX status_history_external ON status_history (submission_id, external_id) "
        "WHERE external_id IS NOT NULL",
        "ALTER TABLE backoffice_state ADD COLUMN updates_until TEXT",
        "CREATE INDEX submissions_open ON submissions (backoffice, state, closed_at)",
    ]),
    (4, "texting: numbers, inbound claims, rate limits, conversations, outbound texts, delivery events", [
        # The key of the numbers' keyed hash, itself sealed with the store key (sync/texting/numbers.py).
        """CREATE TABLE sms_secrets (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            number_key BLOB NOT NULL
        )""",
        # One row per phone number that texted us or that we text: sealed E.164 (NULL once purged,
        # the hash kept only to remember an opt-out), its keyed hash for look-ups, its language.
        """CREATE TABLE sms_numbers (
            id INTEGER PRIMARY KEY,
            number_hash TEXT NOT NULL UNIQUE,
            number BLOB,
            language TEXT,
            opted_out_at TEXT,
            opted_out_by TEXT,
            cannot_receive_at TEXT,
            cannot_receive_reason TEXT,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL
        )""",
        # On PostgreSQL a `rowid` column stands for SQLite's implicit one, by which key checks and
        # rotations walk the table's sealed replies (sync/store/keycheck.py).
        {"sqlite": """CREATE TABLE sms_inbound (
            message_sid TEXT PRIMARY KEY,
            number_id INTEGER REFERENCES sms_numbers (id) ON DELETE CASCADE,
            received_at TEXT NOT NULL,
            reply BLOB
        )""", "postgresql": """CREATE TABLE sms_inbound (
            message_sid TEXT PRIMARY KEY,
            number_id INTEGER REFERENCES sms_numbers (id) ON DELETE CASCADE,
            received_at TEXT NOT NULL,
            reply BYTEA,
            rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
        )"""},
        "CREATE INDEX sms_inbound_received ON sms_inbound (received_at)",
        """CREATE TABLE sms_rate (
            scope TEXT NOT NULL,
            bucket TEXT NOT NULL,
            count INTEGER NOT NULL,
            warned INTEGER NOT NULL DEFAULT 0,
            at TEXT NOT NULL,
            PRIMARY KEY (scope, bucket)
        ) WITHOUT ROWID""",
        """CREATE TABLE sms_conversations (
            number_id INTEGER PRIMARY KEY REFERENCES sms_numbers (id) ON DELETE CASCADE,
            state BLOB NOT NULL,
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        """CREATE TABLE sms_texts (
            id INTEGER PRIMARY KEY,
            dedupe_key TEXT NOT NULL UNIQUE,
            number_id INTEGER NOT NULL REFERENCES sms_numbers (id),
            submission_id INTEGER REFERENCES submissions (id),
            kind TEXT NOT NULL,
            language TEXT NOT NULL,
            body BLOB,
            segments INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'suppressed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_owner TEXT,
            lease_expires_at TEXT,
            provider TEXT,
            provider_id TEXT UNIQUE,
            provider_status TEXT,
            error TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT
        )""",
        "CREATE INDEX sms_texts_due ON sms_texts (state, next_attempt_at)",
        "CREATE INDEX sms_texts_number ON sms_texts (number_id)",
        """CREATE TABLE sms_status_events (
            message_sid TEXT NOT NULL,
            status TEXT NOT NULL,
            error_code TEXT,
            received_at TEXT NOT NULL,
            PRIMARY KEY (message_sid, status)
        ) WITHOUT ROWID""",
        "CREATE INDEX submissions_texting ON submissions (created_at) WHERE notify_phone IS NOT NULL",
    ]),
    (5, "volunteers and staff, the audit log, help recorded on submissions", [
        # One row per volunteer or supervisor of this kiosk. The PIN only ever as an argon2 hash;
        # `failed_pins` counts wrong PINs in a row and `locked_until` ends a lockout.
        # PostgreSQL has no NOCASE: the same rule is a unique index on lower(name) (below), and
        # look-ups compare lower(name) on both engines.
        """CREATE TABLE volunteers (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            role TEXT NOT NULL CHECK (role IN ('volunteer', 'supervisor')),
            pin_hash TEXT NOT NULL,
            failed_pins INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT,
            disabled_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        {"sqlite": None, "postgresql": "CREATE UNIQUE INDEX volunteers_name ON volunteers (lower(name))"},
        # Who did what and whether it was allowed: sign-ins, failures, staff actions. `actor` is a
        # volunteer's name or `cli`; `subject` a reference or a volunteer's name; never a PIN and
        # never a resident's personal data.
        """CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            device_id TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
            subject TEXT,
            detail TEXT
        )""",
        "CREATE INDEX audit_log_at ON audit_log (at)",
        # A submission made with a volunteer's help: who helped (kept on this kiosk; the council is
        # told only that a volunteer helped, unless configured) and what the resident agreed to:
        # 'resident_types' (the volunteer helps, the resident types) or 'volunteer_types'.
        "ALTER TABLE submissions ADD COLUMN assisted_by TEXT",
        "ALTER TABLE submissions ADD COLUMN assist_consent TEXT",
    ]),
    (6, "privacy-safe session events for the take-up report", [
        # What a resident's visit or text conversation did, never who they are or what they typed:
        # `session` is a random id per visit, `step` a question key. No CHECK on `event`: the
        # report must survive rows it does not understand (an older or newer version wrote them).
        """CREATE TABLE session_events (
            id INTEGER PRIMARY KEY,
            session TEXT NOT NULL,
            channel TEXT NOT NULL,
            device_id TEXT NOT NULL,
            at TEXT NOT NULL,
            event TEXT NOT NULL,
            service_code TEXT,
            language TEXT,
            step TEXT,
            assisted INTEGER NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX session_events_at ON session_events (at)",
        "CREATE INDEX session_events_session ON session_events (session, id)",
    ]),
    (7, "reconciliation that proves itself: maybe-sent, give-up clocks, poison counts, search modes, outbox events", [
        # Whether a submission in `needs_attention` may already be at the council (a lost answer
        # never reconciled, repeated 5xx after sending, an unreadable row): such a one is never
        # queued again by staff, only resolved (adopt the council's id, or say it is not there).
        "ALTER TABLE submissions ADD COLUMN maybe_sent INTEGER NOT NULL DEFAULT 0",
        # The give-up clock of an ambiguous submission: seconds spent while its back office
        # answered but could not be searched (never while simply unreachable), and when that
        # was last seen, so the gap to the next look is counted only if it too was refused.
        "ALTER TABLE submissions ADD COLUMN unsearchable_seconds REAL NOT NULL DEFAULT 0",
        "ALTER TABLE submissions ADD COLUMN unsearchable_at TEXT",
        # 5xx answers in a row to this submission's own POST (a poison request, not an outage).
        "ALTER TABLE submissions ADD COLUMN server_errors INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE submissions ADD COLUMN server_errors_since TEXT",
        # How each back office can be searched, learnt from its answers (JSON: paging style,
        # page size, cap), when its search was last proved by finding a known request, and
        # since when its searches fail.
        "ALTER TABLE backoffice_state ADD COLUMN search_mode TEXT",
        "ALTER TABLE backoffice_state ADD COLUMN search_verified_at TEXT",
        "ALTER TABLE backoffice_state ADD COLUMN search_failing_since TEXT",
        "ALTER TABLE backoffice_state ADD COLUMN search_error TEXT",
        # What the worker did with each submission, for `assist outbox show`: attempts and their
        # outcomes, searches and what they found. References and outcomes only, never personal data.
        """CREATE TABLE outbox_events (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions (id),
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            detail TEXT
        )""",
        "CREATE INDEX outbox_events_submission ON outbox_events (submission_id, id)",
    ]),
    (8, "residents' follow-ups (not fixed, a comment) and the places they may need", [
        # A resident's follow-up to an accepted request. `comment` and `original` (the request's
        # place and answers, for a fallback new request) are sealed with the store key and purged
        # once the follow-up is sent, or with the submission's retention purge. `number` counts
        # follow-ups per submission: reference + number is the stable update_id sent to the council.
        # `route` is how it was last sent ('update' or 'request'), which decides how an
        # ambiguous one is looked for. `last_error` is scrubbed: never the resident's words.
        """CREATE TABLE followups (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions (id),
            number INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('not_fixed', 'comment')),
            comment BLOB,
            original BLOB,
            channel TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'needs_attention')),
            route TEXT CHECK (route IN ('update', 'request')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,
            lease_owner TEXT,
            lease_expires_at TEXT,
            created_at TEXT NOT NULL,
            first_sent_at TEXT,
            sent_at TEXT,
            council_update_id TEXT,
            last_error TEXT,
            purged_at TEXT,
            UNIQUE (submission_id, number)
        )""",
        "CREATE INDEX followups_due ON followups (state, next_attempt_at)",
        # The sealed place and answers of an accepted request still open when the retention purge
        # takes its payload, so that a "not fixed" can still become a new request (sync/store/followups.py).
        """CREATE TABLE followup_places (
            submission_id INTEGER PRIMARY KEY REFERENCES submissions (id),
            original BLOB NOT NULL
        )""",
        # Back offices found to have no servicerequestupdates (404/405 to a real POST): their
        # follow-ups go as new requests from then on.
        """CREATE TABLE followup_backoffices (
            name TEXT PRIMARY KEY,
            updates_missing_at TEXT NOT NULL
        )""",
    ]),
    (9, "resolutions staff ask for at the kiosk, for the sync worker to check at the council", [
        # A supervisor at the kiosk says a maybe-sent submission is at the council under this id;
        # the kiosk never calls out, so the sync worker checks the id there and records the
        # outcome: NULL while pending, then 'accepted' or 'refused' with the reason shown to staff.
        """CREATE TABLE resolutions (
            id INTEGER PRIMARY KEY,
            submission_id INTEGER NOT NULL REFERENCES submissions (id),
            council_id TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            outcome TEXT CHECK (outcome IN ('accepted', 'refused')),
            reason TEXT,
            decided_at TEXT
        )""",
        "CREATE INDEX resolutions_submission ON resolutions (submission_id, id)",
    ]),
    (10, "key custody: the store key's check value, and a key rotation under way", [
        # Recognises the store key without holding it (sync/crypto.py check_value): a process
        # given another key is refused before it seals anything. `previous_check` is the key in
        # force before the last rotation, so that one is named as such when it comes back.
        """CREATE TABLE store_key (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            check_value TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            previous_check TEXT,
            rotated_at TEXT
        )""",
        # A rotation not yet finished (sync/store/rotation.py): the new key's file and check value, and
        # how far each table has been re-sealed (JSON: table -> last row id done), so that a
        # crash resumes where it stopped. Both keys open values until the row is gone.
        """CREATE TABLE key_rotation (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            new_check TEXT NOT NULL,
            new_key_file TEXT NOT NULL,
            started_at TEXT NOT NULL,
            progress TEXT NOT NULL DEFAULT '{}',
            resealed INTEGER NOT NULL DEFAULT 0,
            damaged INTEGER NOT NULL DEFAULT 0
        )""",
    ]),
    (11, "council status notes sealed; the clear ones of an earlier version found to be resealed", [
        # The council's notes to a resident ("Spoke to ... at 07712 ...") are personal data:
        # sealed with the store key like the rest (sync/store/notes.py). `notes` keeps what we wrote
        # ourselves, and an earlier version's clear council notes until the sync worker reseals them.
        "ALTER TABLE status_history ADD COLUMN notes_sealed BLOB",
        # The council notes still in clear: empty once resealed, so the check at each start is free.
        "CREATE INDEX status_history_clear_notes ON status_history (submission_id) "
        "WHERE source = 'council' AND notes IS NOT NULL",
    ]),
    (12, "the fleet: a kiosk's enrolment with the council's fleet service; the service's kiosks, heartbeats, events", [
        # -- on a kiosk (sync/fleet/): its link to the council's fleet service. `token` is the per-kiosk
        # bearer token, sealed with the store key; `store_id` is random, made once per store, so the
        # service tells a rebuilt store's events (numbered from 1 again) from a replay.
        # `events_sent_until` is the last session event the service acknowledged.
        """CREATE TABLE fleet_link (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            store_id TEXT NOT NULL,
            url TEXT,
            device_id TEXT,
            token BLOB,
            enrolled_at TEXT,
            events_sent_until INTEGER NOT NULL DEFAULT 0,
            last_heartbeat_at TEXT,
            clock_offset_seconds REAL,
            last_error TEXT
        )""",
        # Each finished submission whose take-up record (channel, service, times: never its reference or
        # words) the service acknowledged, or refused (skipped, never retried for ever).
        """CREATE TABLE fleet_sent_submissions (
            submission_id INTEGER PRIMARY KEY,
            sent_at TEXT NOT NULL
        )""",
        # -- on the council's fleet service (fleet/): every kiosk it knows. Only hashes of the one-time
        # enrolment code and of the kiosk's token are kept; `hours` is the opening week as JSON
        # (`hours_text` as the operator wrote it), in `timezone`.
        """CREATE TABLE fleet_kiosks (
            device_id TEXT PRIMARY KEY,
            library TEXT NOT NULL,
            hours TEXT NOT NULL,
            hours_text TEXT NOT NULL,
            timezone TEXT NOT NULL,
            code_hash TEXT,
            code_expires_at TEXT,
            code_used_at TEXT,
            token_hash TEXT,
            enrolled_at TEXT,
            revoked_at TEXT,
            created_at TEXT NOT NULL
        )""",
        # What each kiosk said of itself (JSON, no personal data), kept 30 days. `skew_seconds`: the
        # kiosk's clock less the service's when it arrived.
        """CREATE TABLE fleet_heartbeats (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            received_at TEXT NOT NULL,
            skew_seconds REAL,
            body TEXT NOT NULL
        )""",
        "CREATE INDEX fleet_heartbeats_device ON fleet_heartbeats (device_id, received_at)",
        "CREATE INDEX fleet_heartbeats_received ON fleet_heartbeats (received_at)",
        # The take-up events and submission records kiosks sent, each once: (device, store, event id)
        # is unique. `known` is 0 for a kind this version does not know (kept, counted as unknown).
        """CREATE TABLE fleet_events (
            id INTEGER PRIMARY KEY,
            device_id TEXT NOT NULL,
            store_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            known INTEGER NOT NULL,
            version INTEGER NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL,
            UNIQUE (device_id, store_id, event_id)
        )""",
    ]),
    (13, "the fleet page's staff: their accounts (argon2id passwords, lock-out) and their sessions", [
        # -- on the council's fleet service (fleet/staff.py): who may read the fleet page. Only the
        # password's argon2id hash is kept; `failures` counts sign-ins refused in a row, and past five
        # the account is locked until `locked_until`.
        """CREATE TABLE fleet_staff (
            name TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0,
            locked_until TEXT
        )""",
        # A signed-in browser: the SHA-256 of its random session id (the cookie holds the id itself),
        # the CSRF token its forms carry, and when it ends. Deleted at sign-out and with its account.
        """CREATE TABLE fleet_sessions (
            id_hash TEXT PRIMARY KEY,
            staff TEXT NOT NULL REFERENCES fleet_staff (name),
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
    ]),
    (14, "the fleet page's sessions for staff signed in by the council's single sign-on", [
        # As fleet_sessions, for a browser the council's single sign-on proxy vouches for (fleet/sso.py):
        # `staff` is the name the proxy gave, with no account here (the council's sign-in decides who
        # may in). Kept for the CSRF token its forms carry; honoured only with the proxy's header naming
        # the same person, so it never outlives the council's own sign-in.
        """CREATE TABLE fleet_sso_sessions (
            id_hash TEXT PRIMARY KEY,
            staff TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
    ]),
    (15, "the fleet: the last heartbeat refused from each kiosk, and why", [
        # A kiosk whose heartbeats are refused (its clock days out, a field this version does not know)
        # would only seem silent: the reason is kept (the schema's words, never the body) and shown
        # until a heartbeat is taken again.
        "ALTER TABLE fleet_kiosks ADD COLUMN refused_at TEXT",
        "ALTER TABLE fleet_kiosks ADD COLUMN refused_reason TEXT",
    ]),
]
