import { it } from 'vitest';
import { runSchedule } from '../../sim/cluster/schedule.js';
it('many', async () => {
  const t = Date.now();
  let bad = 0;
  for (let s = 1; s <= Number(process.env.N ?? 200); s++) {
    const r = await runSchedule({ seed: s, nodes: Number(process.env.NODES ?? 3), config: process.env.SNAP ? { snapshotInterval: 20 } : undefined });
    if (r.violations.length || r.liveness.length) { bad++; if (bad < 4) console.log(s, JSON.stringify(r.violations), r.liveness, r.log.slice(-8)); }
  }
  console.log('bad', bad, 'ms', Date.now() - t);
}, 600000);
