import { describeSetup } from '../../cli/src/proxy/describe-setup';

const HEROKU = {
  adapter: 'heroku',
  url: 'http://127.0.0.1:5000',
  forwardsTo: 'https://atlas.example.com/v1/apis/http/heroku',
};

test('the Heroku CLI settings send Particleboard to the proxy and turn telemetry off', () => {
  const text = describeSetup([HEROKU]);
  expect(text).toContain('  export HEROKU_HOST=http://127.0.0.1:5000 HEROKU_API_KEY=atlas-proxy\n');
  expect(text).toContain('  export HEROKU_PARTICLEBOARD_URL=http://127.0.0.1:5000 DISABLE_TELEMETRY=true\n');
});

// heroku 11.10 reads it nowhere that matters: usage data went to backboard.heroku.com with it set.
test('regression: HEROKU_SKIP_ANALYTICS is not offered as a telemetry setting', () => {
  expect(describeSetup([HEROKU])).not.toContain('SKIP_ANALYTICS');
});

test('an adapter that is not Heroku gets a curl line only', () => {
  const text = describeSetup([{ adapter: 'github', url: 'http://127.0.0.1:5001', forwardsTo: 'x' }]);
  expect(text).toContain('curl (github):\n  curl http://127.0.0.1:5001/\n');
  expect(text).not.toContain('HEROKU_');
});
