import test from 'ava';
import { ConfigError, parseConfig } from '../../pipeline/config';

const parse = (values: Record<string, unknown>) =>
  parseConfig(Object.fromEntries(Object.entries({ siteUrl: 'https://blog.example.com', ...values }).map(([k, v]) => [`wordpress-lakehouse:${k}`, v])));

test('freshnessHours defaults to 26: a daily run plus two hours of slack', (t) => {
  t.is(parse({}).freshnessHours, 26);
  t.is(parse({ freshnessHours: '50' }).freshnessHours, 50);
});

test('freshnessHours outside 1-168 names the key, the range (CloudWatch looks back 7 days at most) and the fix', (t) => {
  for (const value of ['0', '169', '25.5', 'a day']) {
    const error = t.throws(() => parse({ freshnessHours: value }), { instanceOf: ConfigError });
    t.regex(error.message, /^Config wordpress-lakehouse:freshnessHours must be a whole number from 1 to 168, got .*\. Fix: pulumi config set freshnessHours 26$/, value);
  }
  t.is(parse({ freshnessHours: 168 }).freshnessHours, 168);
});

test('a freshness window no longer than the gap between two rate() runs is refused with the hours that would do', (t) => {
  const error = t.throws(() => parse({ schedule: 'rate(2 days)' }), { instanceOf: ConfigError });
  t.is(error.message, 'Config wordpress-lakehouse:freshnessHours is 26 hours but the schedule rate(2 days) starts a run only every 48 hours, so the alarm would fire between every two runs. Fix: pulumi config set freshnessHours 50');
  t.is(parse({ schedule: 'rate(2 days)', freshnessHours: 50 }).freshnessHours, 50);
  t.is(parse({ schedule: 'rate(6 hours)' }).freshnessHours, 26);
  t.is(parse({ schedule: 'rate(30 minutes)', freshnessHours: '1' }).freshnessHours, 1);
});

test('a schedule sparser than CloudWatch can watch says to run more often', (t) => {
  t.throws(() => parse({ schedule: 'rate(8 days)', freshnessHours: 168 }), { message: /every 192 hours.*Fix: schedule a run at least every 166 hours/ });
});
