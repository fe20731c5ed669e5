"""Server functions of the PostgreSQL board (migration 9): a tool call's whole board work
in one statement, and so a turn's opening, turn id and settling.

Why: on PostgreSQL a tool call paid per statement, in the runner (psycopg) and in the
server alike — `team_pull_work` was ten statements (BEGIN, the locks, the replay lookup,
the member's completion, the queue's head, the claim, the depth, the record, the call's
entry, COMMIT), `team_publish_artifact` eleven, and on a two-core machine that CPU, not the
round trips, capped a 32-member team near 300 calls/s. Each function below is the rule of
`TeamBoard` (`core.py`) it replaces, statement for statement and in the same order (the
board tests run every rule on every store, these functions included, so a drift shows):
the member's write locks first (as `pg_locks.take_write_locks`), then the replay by request
key, the operation, its record and its entry in the run's call log, in the one transaction
the statement is (autocommit). Each statement inside a function reads a fresh snapshot
(READ COMMITTED, VOLATILE functions), so every read after the locks sees what the writer
before us committed.

Stored JSON (a call's record and its log entry) is the server's `jsonb` text, bounded as
`call_notes.stored_json` bounds it; readers parse it, so its spacing does not matter.
"""

from __future__ import annotations

from teammesh.mesh.board.call_notes import MAX_STORED_CHARS

# The locks of a member's write (`pg_locks.take_write_locks` with one member): the run's
# shared, then the member's — the same keys, so old and new writers exclude each other.
_LOCKS = """
CREATE OR REPLACE FUNCTION teammesh_member_locks(p_run TEXT, p_member TEXT)
RETURNS void AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('teammesh:' || p_run));
    PERFORM pg_advisory_xact_lock(hashtext(p_run), hashtext('member:' || p_member));
END $fn$ LANGUAGE plpgsql
"""

# A call's entry in the log: `put_call(replace=True)` (applied), or the replay mark
# (`mark_call_replayed`: an existing entry keeps all but its outcome).
_NOTE_CALL = f"""
CREATE OR REPLACE FUNCTION teammesh_note_call(
    p_run TEXT, p_key TEXT, p_member TEXT, p_token TEXT, p_tool TEXT, p_arguments TEXT,
    p_result jsonb, p_outcome TEXT, p_started DOUBLE PRECISION, p_ended DOUBLE PRECISION)
RETURNS void AS $fn$
DECLARE
    stored TEXT := p_result::text;
BEGIN
    IF length(stored) > {MAX_STORED_CHARS} THEN
        stored := jsonb_build_object('truncated', true,
                                     'json', left(stored, {MAX_STORED_CHARS}))::text;
    END IF;
    IF p_outcome = 'replayed' THEN
        INSERT INTO teammesh_call_log (run_id, request_key, member, turn_token, tool,
            arguments, result, success, outcome, reason, started_at, ended_at)
        VALUES (p_run, p_key, p_member, p_token, p_tool, p_arguments, stored, 1,
                'replayed', '', p_started, p_ended)
        ON CONFLICT (run_id, request_key) DO UPDATE SET outcome = 'replayed';
    ELSE
        INSERT INTO teammesh_call_log (run_id, request_key, member, turn_token, tool,
            arguments, result, success, outcome, reason, started_at, ended_at)
        VALUES (p_run, p_key, p_member, p_token, p_tool, p_arguments, stored, 1,
                p_outcome, '', p_started, p_ended)
        ON CONFLICT (run_id, request_key) DO UPDATE SET member = excluded.member,
            turn_token = excluded.turn_token, tool = excluded.tool,
            arguments = excluded.arguments, result = excluded.result,
            success = excluded.success, outcome = excluded.outcome,
            reason = excluded.reason, started_at = excluded.started_at,
            ended_at = excluded.ended_at;
    END IF;
END $fn$ LANGUAGE plpgsql
"""

# `TeamBoard.pull_work` under `_mutate`. A pull's result never refuses (no `queued`
# key), so its entry is always a success, applied or replayed.
_PULL_WORK = """
CREATE OR REPLACE FUNCTION teammesh_pull_work(
    p_run TEXT, p_member TEXT, p_token TEXT, p_key TEXT, p_call_key TEXT,
    p_call_token TEXT, p_arguments TEXT, p_started DOUBLE PRECISION,
    p_ended DOUBLE PRECISION)
RETURNS jsonb AS $fn$
DECLARE
    recorded TEXT;
    head RECORD;
    result jsonb;
BEGIN
    PERFORM teammesh_member_locks(p_run, p_member);
    IF p_key IS NOT NULL THEN
        SELECT c.result INTO recorded FROM teammesh_tool_calls c
        WHERE c.run_id = p_run AND c.request_key = p_key;
        IF FOUND THEN
            IF p_call_key IS NOT NULL THEN
                PERFORM teammesh_note_call(p_run, p_call_key, p_member, p_call_token,
                    'team_pull_work', p_arguments, recorded::jsonb, 'replayed', p_started,
                    p_ended);
            END IF;
            RETURN recorded::jsonb;
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM teammesh_members WHERE run_id = p_run AND member = p_member
               AND completed_seq IS NOT NULL) THEN
        result := jsonb_build_object('task', NULL, 'queueDepth', 0,
                                     'reason', 'member_completed');
    ELSE
        SELECT id, text INTO head FROM teammesh_tasks
        WHERE run_id = p_run AND owner = p_member AND status = 'queued'
        ORDER BY id LIMIT 1;
        IF NOT FOUND THEN
            result := jsonb_build_object('task', NULL, 'queueDepth', 0);
        ELSE
            UPDATE teammesh_tasks SET status = 'claimed', claim_token = p_token
            WHERE id = head.id AND run_id = p_run;
            result := jsonb_build_object('task', head.text, 'queueDepth',
                (SELECT COUNT(*) FROM teammesh_tasks WHERE run_id = p_run
                 AND owner = p_member AND status = 'queued'));
        END IF;
    END IF;
    IF p_key IS NOT NULL THEN
        INSERT INTO teammesh_tool_calls (run_id, request_key, member, tool, result)
        VALUES (p_run, p_key, p_member, 'team_pull_work', result::text);
    END IF;
    IF p_call_key IS NOT NULL THEN
        PERFORM teammesh_note_call(p_run, p_call_key, p_member, p_call_token,
            'team_pull_work', p_arguments, result, 'applied', p_started, p_ended);
    END IF;
    RETURN result;
END $fn$ LANGUAGE plpgsql
"""

# `TeamBoard.publish_artifact` under `_mutate`, with `_once_per_claim`: inside a claim
# the artifact is an effect keyed by the claimed task (`core.effect_key`, whose argument
# digest the caller computes), so a retried attempt of the claim publishes nothing again.
_PUBLISH_ARTIFACT = """
CREATE OR REPLACE FUNCTION teammesh_publish_artifact(
    p_run TEXT, p_member TEXT, p_token TEXT, p_key TEXT, p_kind TEXT, p_summary TEXT,
    p_digest TEXT, p_call_key TEXT, p_call_token TEXT, p_arguments TEXT,
    p_started DOUBLE PRECISION, p_ended DOUBLE PRECISION)
RETURNS jsonb AS $fn$
DECLARE
    tool CONSTANT TEXT := 'team_publish_artifact';
    recorded TEXT;
    claimed BIGINT;
    occurrence INTEGER := 1;
    effect TEXT;
    first_use TEXT;
    result jsonb;
BEGIN
    PERFORM teammesh_member_locks(p_run, p_member);
    IF p_key IS NOT NULL THEN
        SELECT c.result INTO recorded FROM teammesh_tool_calls c
        WHERE c.run_id = p_run AND c.request_key = p_key;
        IF FOUND THEN
            IF p_call_key IS NOT NULL THEN
                PERFORM teammesh_note_call(p_run, p_call_key, p_member, p_call_token, tool,
                    p_arguments, recorded::jsonb, 'replayed', p_started, p_ended);
            END IF;
            RETURN recorded::jsonb;
        END IF;
    END IF;
    IF p_token IS NOT NULL THEN
        SELECT id INTO claimed FROM teammesh_tasks
        WHERE run_id = p_run AND owner = p_member AND claim_token = p_token
          AND status IN ('claimed', 'done')
        ORDER BY id DESC LIMIT 1;
    END IF;
    IF claimed IS NOT NULL THEN
        LOOP
            effect := 'task' || claimed || ':' || p_member || ':' || tool || ':' || p_digest
                      || ':' || occurrence;
            EXIT WHEN NOT EXISTS (SELECT 1 FROM teammesh_effects WHERE run_id = p_run
                                  AND effect_key = effect AND token = p_token);
            occurrence := occurrence + 1;
        END LOOP;
        SELECT e.result INTO first_use FROM teammesh_effects e
        WHERE e.run_id = p_run AND e.effect_key = effect ORDER BY e.seq LIMIT 1;
    END IF;
    IF first_use IS NOT NULL THEN
        result := first_use::jsonb;
    ELSE
        INSERT INTO teammesh_artifacts (run_id, member, kind, summary)
        VALUES (p_run, p_member, p_kind, p_summary);
        result := jsonb_build_object(
            'artifactCount', (SELECT COUNT(*) FROM teammesh_artifacts WHERE run_id = p_run),
            'artifact', jsonb_build_object('member', p_member, 'kind', p_kind,
                                           'summary', p_summary));
    END IF;
    IF claimed IS NOT NULL THEN
        INSERT INTO teammesh_effects (run_id, effect_key, token, member, tool, result)
        VALUES (p_run, effect, p_token, p_member, tool, result::text);
    END IF;
    IF p_key IS NOT NULL THEN
        INSERT INTO teammesh_tool_calls (run_id, request_key, member, tool, result)
        VALUES (p_run, p_key, p_member, tool, result::text);
    END IF;
    IF p_call_key IS NOT NULL THEN
        PERFORM teammesh_note_call(p_run, p_call_key, p_member, p_call_token, tool,
            p_arguments, result, 'applied', p_started, p_ended);
    END IF;
    RETURN result;
END $fn$ LANGUAGE plpgsql
"""

# `TeamBoard.open_turn`: the member's stray claims back to the queue (or to the dead
# letters: `_return_claim`), then the turn's row — its `seq` under the run's turn-seq lock
# (`_PostgresTx.add_turn`), its start and session stamped (`stamp_turn`) in the insert
# itself. The lease guard (a trigger) checks the insert as before.
_OPEN_TURN = """
CREATE OR REPLACE FUNCTION teammesh_open_turn(
    p_run TEXT, p_member TEXT, p_token TEXT, p_round INTEGER, p_requeue BOOLEAN,
    p_started DOUBLE PRECISION, p_session TEXT)
RETURNS void AS $fn$
BEGIN
    PERFORM teammesh_member_locks(p_run, p_member);
    IF p_requeue THEN
        UPDATE teammesh_tasks SET attempts = attempts + 1, claim_token = NULL,
            status = CASE WHEN attempts + 1 >= (SELECT max_attempts FROM teammesh_runs
                                                WHERE run_id = p_run)
                     THEN 'dead' ELSE 'queued' END
        WHERE run_id = p_run AND owner = p_member AND status = 'claimed';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(p_run), hashtext('counter:turn-seq'));
    INSERT INTO teammesh_turns (run_id, token, member, round, turn_id, state, seq,
                                started_at, session_id)
    VALUES (p_run, p_token, p_member, p_round, NULL, 'open',
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM teammesh_turns WHERE run_id = p_run),
            p_started,
            COALESCE(p_session, (SELECT session_id FROM teammesh_members
                                 WHERE run_id = p_run AND member = p_member)));
END $fn$ LANGUAGE plpgsql
"""

# `TeamBoard.set_turn_id`: the run's lock shared (a write of no member), then the row.
_SET_TURN_ID = """
CREATE OR REPLACE FUNCTION teammesh_set_turn_id(p_run TEXT, p_token TEXT, p_turn_id TEXT)
RETURNS void AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('teammesh:' || p_run));
    UPDATE teammesh_turns SET turn_id = COALESCE(p_turn_id, turn_id)
    WHERE run_id = p_run AND token = p_token;
END $fn$ LANGUAGE plpgsql
"""

# `TeamBoard.settle_turn` for a turn that went well (every turn but a few): its claims
# done, nothing charged. False, changing nothing, when the token's row names another
# member than the token does: the caller settles it the generic way, under that member's
# lock (as `settle_turn` does). A failed or lost turn is always settled the generic way.
_SETTLE_OK = """
CREATE OR REPLACE FUNCTION teammesh_settle_ok(
    p_run TEXT, p_member TEXT, p_token TEXT, p_ended DOUBLE PRECISION)
RETURNS boolean AS $fn$
DECLARE
    slot RECORD;
BEGIN
    PERFORM teammesh_member_locks(p_run, p_member);
    SELECT member, state INTO slot FROM teammesh_turns
    WHERE run_id = p_run AND token = p_token;
    IF NOT FOUND THEN
        RETURN true;
    END IF;
    IF slot.member <> p_member THEN
        RETURN false;
    END IF;
    IF slot.state <> 'open' THEN
        RETURN true;  -- already settled: settling is idempotent
    END IF;
    UPDATE teammesh_turns SET state = 'ok', ended_at = COALESCE(p_ended, ended_at)
    WHERE run_id = p_run AND token = p_token;
    UPDATE teammesh_tasks SET status = 'done'
    WHERE run_id = p_run AND status = 'claimed' AND claim_token = p_token;
    RETURN true;
END $fn$ LANGUAGE plpgsql
"""

# `initial_tasks.queue_initial_tasks`: every initial task through `queue_work` by the
# system (key `initial:N`, replayed when recorded), in one transaction under the run's
# lock. The system member never claims, so a task's chain is its owner alone and it has
# no parent; a completed owner gets the refusal `queue_work` records. The texts come
# checked (`clean_text`): a text or owner `queue_work` would refuse goes the generic way.
_QUEUE_INITIAL = """
CREATE OR REPLACE FUNCTION teammesh_queue_initial(p_run TEXT, p_owners TEXT[],
                                                  p_texts TEXT[])
RETURNS void AS $fn$
DECLARE
    n INTEGER;
    owner_name TEXT;
    request TEXT;
    result jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('teammesh:' || p_run));
    FOR n IN 1 .. COALESCE(array_length(p_owners, 1), 0) LOOP
        owner_name := p_owners[n];
        request := 'initial:' || (n - 1);
        CONTINUE WHEN EXISTS (SELECT 1 FROM teammesh_tool_calls
                              WHERE run_id = p_run AND request_key = request);
        IF EXISTS (SELECT 1 FROM teammesh_members WHERE run_id = p_run
                   AND member = owner_name AND completed_seq IS NOT NULL) THEN
            result := jsonb_build_object('queuedFor', owner_name, 'queuedBy', 'system',
                'queueDepth', (SELECT COUNT(*) FROM teammesh_tasks WHERE run_id = p_run
                               AND owner = owner_name AND status = 'queued'),
                'queued', false, 'reason', 'owner_completed');
        ELSE
            INSERT INTO teammesh_tasks (run_id, owner, text, queued_by, status, chain,
                                        parent_id)
            VALUES (p_run, owner_name, p_texts[n], 'system', 'queued',
                    jsonb_build_array(owner_name)::text, NULL);
            result := jsonb_build_object('queuedFor', owner_name, 'queuedBy', 'system',
                'queueDepth', (SELECT COUNT(*) FROM teammesh_tasks WHERE run_id = p_run
                               AND owner = owner_name AND status = 'queued'),
                'task', p_texts[n], 'queued', true);
        END IF;
        INSERT INTO teammesh_tool_calls (run_id, request_key, member, tool, result)
        VALUES (p_run, request, 'system', 'team_queue_work', result::text);
    END LOOP;
END $fn$ LANGUAGE plpgsql
"""

PG_CALL_FUNCTIONS = (_LOCKS, _NOTE_CALL, _PULL_WORK, _PUBLISH_ARTIFACT, _OPEN_TURN,
                     _SET_TURN_ID, _SETTLE_OK, _QUEUE_INITIAL)
