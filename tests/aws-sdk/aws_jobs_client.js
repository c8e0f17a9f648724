// The AWS IoT Device SDK for JavaScript (v1, aws-iot-device-sdk) jobs client against
// iotcloud (tests/integration/test_jobs_aws_sdk.py): subscribeToJobs for the operation
// "fw-update", startJobNotifications ($next/get), then for every job received report
// IN_PROGRESS and SUCCEEDED (FAILED when the document says so) with statusDetails, until
// WANT jobs were handled. One JSON line per event on stdout. Metrics off (see
// aws_shadow_client.js).
//   node aws_jobs_client.js HOST PORT CA CERT KEY THING WANT
const awsIot = require('aws-iot-device-sdk');
const [host, port, ca, cert, key, thing, want] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const jobs = awsIot.jobs({
  host, port: Number(port), protocol: 'mqtts', caPath: ca, certPath: cert, keyPath: key,
  clientId: thing, enableMetrics: false, keepalive: 30, baseReconnectTimeMs: 250, maximumReconnectTimeMs: 1000,
});
let done = 0;
const seen = new Set();
jobs.on('connect', () => {
  jobs.subscribeToJobs(thing, 'fw-update', (err, job) => {
    if (err) {
      out({event: 'error', message: String(err)});
      return;
    }
    if (seen.has(job.id)) return; // notify-next and $next/get may both carry it
    seen.add(job.id);
    out({event: 'job', id: job.id, document: job.document, status: job.status});
    job.inProgress({step: 'installing'}, (e1) => {
      if (e1) out({event: 'error', message: String(e1)});
      const finish = job.document.fail ? job.failed : job.succeeded;
      finish({version: String(job.document.version)}, (e2) => {
        if (e2) out({event: 'error', message: String(e2)});
        out({event: 'reported', id: job.id});
        if (++done === Number(want)) {
          setTimeout(() => jobs.end(true, () => process.exit(0)), 300);
        }
      });
    });
  });
  jobs.startJobNotifications(thing, (e) => out({event: 'started', error: e ? String(e) : null}));
});
jobs.on('error', (e) => out({event: 'error', message: String(e)}));
setTimeout(() => { out({event: 'gave_up'}); process.exit(2); }, 30000);
