/**
 * The helper thread of a long fill (src/core/fill-folds.ts): given the fill's issue side, takes
 * batches of its issues off the shared counter, folds each (`foldBatch`) and answers it, until none
 * is left.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { claimBatch, helperDid, type FoldThreadSetup } from '../core/fill-folds.js';
import { batchCount, foldBatch, type FoldJob } from '../core/issue-rows.js';

const { claims, answers } = workerData as FoldThreadSetup;
parentPort!.once('message', (job: FoldJob) => {
  try {
    const batches = batchCount(job.plan);
    for (let b = claimBatch(claims); b < batches; b = claimBatch(claims)) {
      const folded = foldBatch(job, b);
      answers.postMessage(folded, [folded.rows.buffer as ArrayBuffer]);
      helperDid(claims, false);
    }
  } finally {
    helperDid(claims, true);
  }
});
