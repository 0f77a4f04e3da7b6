-- In-DBMS training and validation aggregates (UDAF, MA, CTQ). The Python lives in
-- bench_engine.indb; these definitions only route arguments to it.
-- Arguments of both aggregates: models table (local name on the segment), config id, config JSON,
-- run metadata JSON (input shape, classes, threads), then one packed buffer (x, y, n).

CREATE FUNCTION bench_train_sfunc(state text, models_table text, config int, spec text, meta text, x bytea, y bytea, n int)
RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.train_transition(GD, plpy, state, models_table, config, spec, meta, x, y, n)
$$;

CREATE FUNCTION bench_train_ffunc(state text) RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.train_final(GD, plpy, state)
$$;

CREATE AGGREGATE bench_train(text, int, text, text, bytea, bytea, int) (
  SFUNC = bench_train_sfunc,
  STYPE = text,
  FINALFUNC = bench_train_ffunc,
  FINALFUNC_MODIFY = READ_WRITE
);

CREATE FUNCTION bench_valid_sfunc(state text, models_table text, config int, spec text, meta text, x bytea, y bytea, n int)
RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.valid_transition(GD, plpy, state, models_table, config, spec, meta, x, y, n)
$$;

CREATE FUNCTION bench_valid_ffunc(state text) RETURNS text LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.valid_final(GD, plpy, state)
$$;

CREATE AGGREGATE bench_validate(text, int, text, text, bytea, bytea, int) (
  SFUNC = bench_valid_sfunc,
  STYPE = text,
  FINALFUNC = bench_valid_ffunc,
  FINALFUNC_MODIFY = READ_WRITE
);

-- A freshly initialised model (weights and optimizer state), deterministic from the seed.
CREATE FUNCTION bench_init_model(spec text, meta text, seed int) RETURNS bytea
LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import indb
return indb.init_model(GD, spec, meta, seed)
$$;
