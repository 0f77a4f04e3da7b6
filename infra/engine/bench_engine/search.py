"""Optuna's TPE sampler for bench's `tpe` searcher: `/usr/bin/python3 -m bench_engine.search`.

A long-lived child speaking JSON lines on stdin/stdout (src/search/tpe.ts, docs/search.md): one
request line in, one reply line out, in order.

  init {seed, startupTrials, space}: a study that minimises, sampled by TPESampler(seed,
       n_startup_trials); space maps names to {kind: choice, values} | {kind: float|int, low,
       high, log}                    -> {ok, optuna}
  ask                               -> {ok, trial, params}
  tell {trial, value}: value null marks the trial failed (its loss was not finite)
                                    -> {ok}

Any exception -> {ok: false, error}; the child keeps serving. The study lives in memory: the
TypeScript side tells results in a canonical order, so the same seed and the same results give
the same proposals, and a resumed run replays them. Optuna's own log lines go to stderr.
"""

import json
import sys


def _distribution(optuna, name, param):
    kind = param.get('kind')
    if kind == 'choice':
        return optuna.distributions.CategoricalDistribution(list(param['values']))
    if kind == 'float':
        return optuna.distributions.FloatDistribution(param['low'], param['high'], log=bool(param['log']))
    if kind == 'int':
        return optuna.distributions.IntDistribution(int(param['low']), int(param['high']), log=bool(param['log']))
    raise ValueError('dimension %r has unknown kind %r' % (name, kind))


class Session:
    def __init__(self):
        self.study = None
        self.distributions = None

    def handle(self, request):
        import optuna

        op = request.get('op')
        if op == 'init':
            optuna.logging.set_verbosity(optuna.logging.WARNING)
            sampler = optuna.samplers.TPESampler(
                seed=int(request['seed']), n_startup_trials=int(request['startupTrials'])
            )
            self.study = optuna.create_study(direction='minimize', sampler=sampler)
            self.distributions = {name: _distribution(optuna, name, p) for name, p in request['space'].items()}
            return {'ok': True, 'optuna': optuna.__version__}
        if self.study is None:
            raise RuntimeError("the first request must be 'init'")
        if op == 'ask':
            trial = self.study.ask(self.distributions)
            return {'ok': True, 'trial': trial.number, 'params': trial.params}
        if op == 'tell':
            value = request.get('value')
            if value is None:
                self.study.tell(int(request['trial']), state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(int(request['trial']), float(value))
            return {'ok': True}
        raise ValueError('unknown op %r' % (op,))


def main():
    session = Session()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = session.handle(json.loads(line))
        except Exception as error:  # noqa: BLE001 - every failure goes back to the caller
            reply = {'ok': False, 'error': '%s: %s' % (type(error).__name__, error)}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
