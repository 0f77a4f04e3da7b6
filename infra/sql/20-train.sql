-- In-DBMS training and validation (udaf, ctq, ma): ONE aggregate, whatever the approach and
-- wherever the model lives. The Python lives in bench_engine.indb; these definitions only route
-- arguments to it. The approaches call it from per-run views defined on each segment
-- (docs/indb.md), never from a statement the coordinator's planner could aggregate locally.
--
-- bench_step(task, buffer_id, x, y, n): the task (JSON: kind train|valid, the model's source -- a
-- models table or a model-store file --, the version expected, config, ...; see indb.py) and one
-- packed buffer. x and y are NULL when the task reads this backend's cache of decoded buffers.
-- Returns u32 LE length of a JSON result, the result, then the trained model when asked for.
-- The task is json, not text: an aggregate over a collatable argument that does not come from a
-- column would not be shippable by postgres_fdw.

CREATE FUNCTION bench_step_sfunc(state text, task json, buffer_id int, x bytea, y bytea, n int)
RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.step_transition(GD, plpy, state, task, buffer_id, x, y, n)
$$;

CREATE FUNCTION bench_step_ffunc(state text) RETURNS bytea LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.step_final(GD, plpy, state)
$$;

CREATE AGGREGATE bench_step(json, int, bytea, bytea, int) (
  SFUNC = bench_step_sfunc, STYPE = text, FINALFUNC = bench_step_ffunc, FINALFUNC_MODIFY = READ_WRITE
);

-- Import the engine in this backend and set its threads: the run's start-up phase, so that no
-- statement of the execution phase pays for it. Returns {spans, pid, threads} as JSON.
CREATE FUNCTION bench_engine_warm(meta json) RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.warm(GD, meta)
$$;

-- Weighted average of checkpoints (model averaging, MA).
CREATE FUNCTION bench_average(models bytea[], weights float8[]) RETURNS bytea
LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.average(GD, models, weights)
$$;

-- A trigger for models tables: a transaction that writes a model commits synchronously, whatever
-- the instance's synchronous_commit (off in the embedded cluster, which speeds up packing). A
-- commit the coordinator has seen must survive an immediate stop of the instance: the model hop
-- deletes the source copy only after the destination's copy committed.
CREATE FUNCTION bench_durable_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('synchronous_commit', 'on', true);
  RETURN NULL;
END
$$;
