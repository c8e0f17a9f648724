// The AWS IoT Device SDK for JavaScript (v1, aws-iot-device-sdk) thingShadow client against
// iotcloud (tests/integration/test_shadows_aws_sdk.py): register, update reported, get,
// then wait for a delta (the test PATCHes desired over REST after "ready"). One JSON line
// per event on stdout. The SDK's metrics stay on (its default): it sends
// "?SDK=JavaScript&Version=..." as the user name, which the broker reads as no user name
// beside the certificate (docs/device-identity.md).
//   node aws_shadow_client.js HOST PORT CA CERT KEY THING
const awsIot = require('aws-iot-device-sdk');
const [host, port, ca, cert, key, thing] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const shadows = awsIot.thingShadow({
  host, port: Number(port), protocol: 'mqtts', caPath: ca, certPath: cert, keyPath: key,
  clientId: thing, keepalive: 30, baseReconnectTimeMs: 250, maximumReconnectTimeMs: 1000,
});
let step = 'update';
shadows.on('connect', () => {
  shadows.register(thing, {ignoreDeltas: false, persistentSubscribe: true}, () => {
    const tok = shadows.update(thing, {state: {reported: {fw: '1.0', led: 'off'}}});
    out({event: 'sent', op: 'update', token: tok});
  });
});
shadows.on('status', (name, stat, token, doc) => {
  out({event: 'status', op: step, stat, token, doc});
  if (step === 'update') {
    step = 'get';
    out({event: 'sent', op: 'get', token: shadows.get(thing)});
  } else if (step === 'get') {
    step = 'wait';
    out({event: 'ready'});
  }
});
shadows.on('delta', (name, doc) => {
  out({event: 'delta', doc});
  shadows.end(true, () => process.exit(0));
});
shadows.on('timeout', (name, token) => out({event: 'timeout', token}));
shadows.on('error', (e) => out({event: 'error', message: String(e)}));
setTimeout(() => { out({event: 'gave_up'}); process.exit(2); }, 30000);
