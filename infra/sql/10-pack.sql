-- Packing raw rows into buffers (the in-DBMS ETL, like MADlib's training_preprocessor_dl).
-- The Python lives in bench_engine.featurize; these definitions only route arguments to it.
-- One aggregate call builds one buffer: (n, x float32 LE, y int32 LE) as in the packed layout.

CREATE TYPE bench_packed_buffer AS (n int, x bytea, y bytea);

-- Forget half-built buffers an aborted statement left in this backend's GD.
CREATE FUNCTION bench_pack_reset() RETURNS int LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import featurize
return featurize.reset(GD)
$$;

-- Criteo: label, 13 integer features (NULL = missing), 26 hex categorical features ('' or NULL =
-- missing), the number of integer buckets and of hash buckets.
CREATE FUNCTION bench_pack_criteo_sfunc(state bigint, label int, ints int[], cats text[], int_buckets int, hash_buckets int)
RETURNS bigint LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import featurize
return featurize.criteo_step(GD, state, label, ints, cats, int_buckets, hash_buckets)
$$;

CREATE FUNCTION bench_pack_criteo_ffunc(state bigint) RETURNS bench_packed_buffer LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import featurize
return featurize.criteo_final(GD, state)
$$;

CREATE AGGREGATE bench_pack_criteo(int, int[], text[], int, int) (
  SFUNC = bench_pack_criteo_sfunc,
  STYPE = bigint,
  FINALFUNC = bench_pack_criteo_ffunc,
  FINALFUNC_MODIFY = READ_WRITE
);

-- ImageNet: label, one size x size x 3 uint8 image (channels last), the image size.
CREATE FUNCTION bench_pack_image_sfunc(state bigint, label int, image bytea, image_size int)
RETURNS bigint LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import featurize
return featurize.image_step(GD, state, label, image, image_size)
$$;

CREATE FUNCTION bench_pack_image_ffunc(state bigint) RETURNS bench_packed_buffer LANGUAGE plpython3u VOLATILE AS $$
from bench_engine import featurize
return featurize.image_final(GD, state)
$$;

CREATE AGGREGATE bench_pack_image(int, bytea, int) (
  SFUNC = bench_pack_image_sfunc,
  STYPE = bigint,
  FINALFUNC = bench_pack_image_ffunc,
  FINALFUNC_MODIFY = READ_WRITE
);
