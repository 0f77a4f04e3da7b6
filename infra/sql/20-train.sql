-- In-DBMS training and validation aggregates (udaf, ctq, ma). The Python lives in
-- bench_engine.indb; these definitions only route arguments to it.
-- Common arguments: the model's source, config id, config JSON, run metadata JSON (input shape,
-- classes, threads), then one packed buffer (x, y, n). The source is JSON naming the segment's
-- local models table ({"table": ...}) or a model-store file ({"file": ..., "seed": ...}); the
-- *_inline variants take the model itself as a bytea.
-- The JSON arguments are typed json, not text: an aggregate over a collatable constant argument is
-- not shippable by postgres_fdw (its input collation does not come from a foreign column), and the
-- targeted CTQ queries pass constants.

CREATE FUNCTION bench_train_sfunc(state text, source json, config int, spec json, meta json, x bytea, y bytea, n int)
RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.train_transition(GD, plpy, state, source, config, spec, meta, x, y, n)
$$;

CREATE FUNCTION bench_train_ffunc(state text) RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.train_final(GD, plpy, state)
$$;

CREATE AGGREGATE bench_train(json, int, json, json, bytea, bytea, int) (
  SFUNC = bench_train_sfunc, STYPE = text, FINALFUNC = bench_train_ffunc, FINALFUNC_MODIFY = READ_WRITE
);

CREATE FUNCTION bench_train_inline_sfunc(state text, model bytea, config int, spec json, meta json, x bytea, y bytea, n int)
RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.train_inline_transition(GD, plpy, state, model, config, spec, meta, x, y, n)
$$;

-- Returns u32 LE length of the result JSON, the JSON, then the trained model.
CREATE FUNCTION bench_train_inline_ffunc(state text) RETURNS bytea LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.train_inline_final(GD, plpy, state)
$$;

CREATE AGGREGATE bench_train_inline(bytea, int, json, json, bytea, bytea, int) (
  SFUNC = bench_train_inline_sfunc, STYPE = text, FINALFUNC = bench_train_inline_ffunc, FINALFUNC_MODIFY = READ_WRITE
);

CREATE FUNCTION bench_valid_sfunc(state text, source json, config int, spec json, meta json, x bytea, y bytea, n int)
RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.valid_transition(GD, plpy, state, source, config, spec, meta, x, y, n)
$$;

CREATE FUNCTION bench_valid_ffunc(state text) RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.valid_final(GD, plpy, state)
$$;

CREATE AGGREGATE bench_validate(json, int, json, json, bytea, bytea, int) (
  SFUNC = bench_valid_sfunc, STYPE = text, FINALFUNC = bench_valid_ffunc, FINALFUNC_MODIFY = READ_WRITE
);

CREATE FUNCTION bench_valid_inline_sfunc(state text, model bytea, config int, spec json, meta json, x bytea, y bytea, n int)
RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.valid_inline_transition(GD, plpy, state, model, config, spec, meta, x, y, n)
$$;

CREATE AGGREGATE bench_validate_inline(bytea, int, json, json, bytea, bytea, int) (
  SFUNC = bench_valid_inline_sfunc, STYPE = text, FINALFUNC = bench_valid_ffunc, FINALFUNC_MODIFY = READ_WRITE
);

-- A freshly initialised model (weights and optimizer state), deterministic from the seed.
CREATE FUNCTION bench_init_model(spec json, meta json, seed int) RETURNS bytea
LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.init_model(GD, spec, meta, seed)
$$;

-- Weighted average of checkpoints (model averaging, MA).
CREATE FUNCTION bench_average(models bytea[], weights float8[]) RETURNS bytea
LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.average(GD, models, weights)
$$;
