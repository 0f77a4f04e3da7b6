-- Core helpers of the bench extension.

-- The engine's versions as the server sees them (fingerprint of in-DBMS runs).
CREATE FUNCTION bench_engine_versions() RETURNS text
LANGUAGE plpython3u AS $$
import sys, json
try:
    import torch
    torch_version = torch.__version__
except Exception as error:  # reported, not hidden: the caller prints it
    torch_version = 'unavailable: %s' % error
return json.dumps({'python': sys.version.split()[0], 'torch': torch_version})
$$;
