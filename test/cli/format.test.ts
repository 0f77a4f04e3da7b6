// Terminal text: clocks, rates, bars, the compact epoch line, the summary block in the report's words.
import { describe, expect, it } from 'vitest';
import picocolors from 'picocolors';
import { bar, clock, epochLine, percent, rate } from '../../src/cli/format.js';
import { displayPath, finalLine, reportCommandFor, runSummaryLines } from '../../src/cli/summary.js';
import { MEASUREMENT_VERSION, type Summary } from '../../src/core/records.js';
import { storageOf, withComponents } from '../../src/metrics/summarize.js';

describe('format', () => {
  it('writes clocks, rates, bars and percentages', () => {
    expect([clock(0), clock(7_400), clock(723_000), clock(3_729_000)]).toEqual(['0:00', '0:07', '12:03', '1:02:09']);
    expect([rate(3.24), rate(42), rate(0.25)]).toEqual(['3.2 units/s', '42 units/s', '4.0 s/unit']);
    expect(bar(0.5, 10)).toBe('█████░░░░░');
    expect(bar(1.4, 4, true)).toBe('[####]');
    expect([percent(0.999), percent(1)]).toEqual(['99%', '100%']);
  });

  it('gives an epoch one line of at most 100 columns', () => {
    const line = epochLine(
      {
        epoch: 9,
        configs: 256,
        bestLoss: 0.2470123,
        medianLoss: 0.27,
        bestAccuracy: 0.927,
        medianAccuracy: 0.921,
        bestConfig: 8,
        seconds: 12.34,
      },
      10,
    );
    expect(line).toBe(
      'epoch 10/10 · 12.3 s · best/median valid loss 0.2470/0.2700, accuracy 92.7%/92.1% · best config 8',
    );
    expect(line.length).toBeLessThanOrEqual(100);
  });
});

const kinds = (train: number, data: number, hop: number, schedule: number) => ({
  train,
  valid: 0,
  'engine-init': 0,
  data,
  'model-hop': hop,
  idle: 0,
  average: 0,
  schedule,
});

const summary: Summary = {
  formatVersion: 1,
  measurementVersion: MEASUREMENT_VERSION,
  runId: 'r1',
  status: 'complete',
  finishedAt: '2025-01-01T00:00:00Z',
  etlSeconds: 2.21,
  startupSeconds: 0.4,
  calibrationSeconds: 0,
  executionSeconds: 228,
  epochSeconds: [70, 80, 78],
  outsideEpochsSeconds: 0.1,
  breakdown: [withComponents(kinds(70, 4, 0.3, 1.5), 0.01), withComponents(kinds(74, 4.1, 0.34, 1.4), 0.02)],
  metrics: [
    { config: 0, epoch: 1, trainLoss: 0.3, validLoss: 0.3, validAccuracy: 0.9 },
    { config: 1, epoch: 1, trainLoss: 0.3, validLoss: 0.25, validAccuracy: 0.92 },
    { config: 0, epoch: 0, trainLoss: 0.3, validLoss: 0.1, validAccuracy: 0.99 },
  ],
  transportBytes: { copy: 1_000_000, 'model-store': 277_000_000 },
  bytes: {
    byTransport: {
      copy: { etl: 1_000_000, startup: 0, calibration: 0, execution: 0 },
      'model-store': { etl: 0, startup: 0, calibration: 0, execution: 277_000_000 },
    },
    execution: { network: 277_000_000, disk: 0, local: 0 },
    etl: 1_000_000,
    startup: 0,
  },
  storage: storageOf({ storedBytes: 9_260_000, logicalBytes: 154_000_000 }, { storedBytes: 0, logicalBytes: 0 }),
  unitsCompleted: 96,
  unitsRetried: 0,
  resources: null,
};

describe('the end-of-run block', () => {
  const ctx = { label: 'ctq criteo/small', segments: 2, epochs: 3, runDir: `${process.cwd()}/runs/r1` };
  const lines = runSummaryLines(summary, ctx, picocolors.createColors(false));

  it("uses the report's labels and units", () => {
    const text = lines.join('\n');
    for (const label of [
      'ETL time',
      'Exec. time',
      'Epoch time',
      'Train+Valid',
      'Data Transmission',
      'Model Transmission',
      'Approach-specific: schedule',
      'Unattributed',
      'Network',
      'Storage blowup',
    ]) {
      expect(text).toContain(label);
    }
    expect(text).toMatch(/Exec\. time\s+3\.8 min/);
    expect(text).toMatch(/Epoch time\s+1\.3 min \(execution \/ epochs\)/);
    expect(text).toMatch(/Train\+Valid\s+1\.2 min\s+92\.\d%/);
    expect(text).toMatch(/Start-up time\s+0\.40 s/);
    expect(text).toMatch(/Network\s+277 MB during execution \(counted\)\n\s+Disk \/ local IPC\s+0 B \/ 0 B/);
    expect(text).toMatch(/ETL \/ start-up\s+1\.00 MB \/ 0 B moved/);
    expect(text).toMatch(/Storage blowup\s+1\.00x logical, 1\.00x as stored/);
    expect(text).toMatch(/loss best 0\.2500 \(config 1\), median 0\.2750/);
    expect(text).not.toMatch(/trainValid|dataTransmission/);
  });

  it('ends with the command that builds the report, and a final line naming the run folder', () => {
    expect(lines.at(-1)).toMatch(/Report\s+npx bench report runs\/r1$/);
    expect(reportCommandFor(ctx.runDir)).toBe('npx bench report runs/r1');
    expect(finalLine(summary, ctx)).toBe('ctq criteo/small complete: runs/r1');
    expect(displayPath('/elsewhere/runs/r1', '/work')).toBe('/elsewhere/runs/r1');
  });
});
