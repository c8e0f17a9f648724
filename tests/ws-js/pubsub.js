// MQTT.js (from npm, tests/ws-js/package.json) over WebSocket against iotcloud: one
// subscriber and one publisher on URL; QoS 0, 1 and 2 messages, one of 100 KB, each arrive
// once (MQTT.js hands a QoS 2 message over at PUBREL, so the order across QoS is its own). Usage: node pubsub.js URL [CAFILE]. Prints "ok N" and exits 0, or
// prints why and exits 1. Run by tests/integration/test_ws_mqttjs.py.
'use strict';
const fs = require('fs');
const mqtt = require('mqtt');

const url = process.argv[2];
const ca = process.argv[3] ? fs.readFileSync(process.argv[3]) : undefined;
const topic = 'mqttjs/' + process.pid + '/' + Date.now();
const opts = { ca, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 };
const big = Buffer.alloc(100000, 7);
const want = [Buffer.from('q0'), Buffer.from('q1'), Buffer.from('q2'), big];

function die(why) {
  console.log('FAIL ' + why);
  process.exit(1);
}
setTimeout(() => die('timed out'), 15000).unref();

const sub = mqtt.connect(url, { ...opts, clientId: 'js-sub-' + process.pid });
const got = [];
sub.on('error', (e) => die('subscriber: ' + e.message));
sub.on('message', (t, payload) => {
  got.push(payload);
  if (got.length < want.length) return;
  for (let i = 0; i < want.length; i++)
    if (got.filter((g) => g.equals(want[i])).length !== 1) die('message ' + i + ' not once');
  console.log('ok ' + got.length);
  sub.end(true);
  process.exit(0);
});
sub.on('connect', () => {
  sub.subscribe(topic, { qos: 2 }, (err, granted) => {
    if (err || granted[0].qos !== 2) die('subscribe: ' + (err ? err.message : granted[0].qos));
    const pub = mqtt.connect(url, { ...opts, clientId: 'js-pub-' + process.pid });
    pub.on('error', (e) => die('publisher: ' + e.message));
    pub.on('connect', () => {
      pub.publish(topic, want[0], { qos: 0 });
      pub.publish(topic, want[1], { qos: 1 });
      pub.publish(topic, want[2], { qos: 2 });
      pub.publish(topic, want[3], { qos: 1 });
    });
  });
});
