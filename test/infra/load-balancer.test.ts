import { readSettings } from '../../gateway/src/settings';
import {
  type DeclaredResource,
  type ProgramRun,
  onlyContainer,
  plainEnvironment,
  processEnvironment,
  runProgram,
} from '../helpers/pulumi-program';

const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
/** ECS refuses a container stopTimeout above 120 seconds on Fargate. */
const FARGATE_MAX_STOP_TIMEOUT = 120;

function stack(config: Record<string, unknown> = {}) {
  return {
    config: {
      adapters: [
        {
          name: 'heroku',
          baseUrl: 'https://api.heroku.com',
          headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
        },
      ],
      HEROKU_API_KEY: 'heroku-key-for-load-balancer-tests',
      ...config,
    },
    secretKeys: ['HEROKU_API_KEY'],
  };
}

let http: ProgramRun;
let https: ProgramRun;
beforeAll(async () => {
  http = await runProgram(stack());
  https = await runProgram(stack({ certificateArn: CERTIFICATE_ARN }));
});

const loadBalancer = (run: ProgramRun) => run.one('aws:lb/loadBalancer:LoadBalancer');
const targetGroup = (run: ProgramRun) => run.one('aws:lb/targetGroup:TargetGroup');
function listenerOn(run: ProgramRun, port: number): DeclaredResource {
  const listeners = run.ofType('aws:lb/listener:Listener').filter((listener) => listener.inputs.port === port);
  expect(listeners).toHaveLength(1);
  return listeners[0]!;
}

describe('without a certificate', () => {
  test('one HTTP listener on 80 forwarding to the target group', () => {
    expect(http.ofType('aws:lb/listener:Listener')).toHaveLength(1);
    const listener = listenerOn(http, 80);
    expect(listener.inputs).toMatchObject({ protocol: 'HTTP', loadBalancerArn: loadBalancer(http).outputs.arn });
    expect(listener.inputs.defaultActions).toEqual([
      { type: 'forward', targetGroupArn: targetGroup(http).outputs.arn },
    ]);
    expect(listener.inputs.certificateArn).toBeUndefined();
  });

  test('the url output is http://<load balancer DNS name>', () => {
    expect(http.outputs.url).toBe(`http://${String(loadBalancer(http).outputs.dnsName)}`);
  });
});

describe('with atlas:certificateArn', () => {
  test(`an HTTPS listener on 443 with the certificate and ${TLS_POLICY}, forwarding to the target group`, () => {
    expect(https.ofType('aws:lb/listener:Listener')).toHaveLength(2);
    const listener = listenerOn(https, 443);
    expect(listener.inputs).toMatchObject({
      protocol: 'HTTPS',
      certificateArn: CERTIFICATE_ARN,
      sslPolicy: TLS_POLICY,
      loadBalancerArn: loadBalancer(https).outputs.arn,
    });
    expect(listener.inputs.defaultActions).toEqual([
      { type: 'forward', targetGroupArn: targetGroup(https).outputs.arn },
    ]);
  });

  test('HTTP on 80 only redirects to HTTPS 443 with a 301', () => {
    const listener = listenerOn(https, 80);
    expect(listener.inputs).toMatchObject({ protocol: 'HTTP', loadBalancerArn: loadBalancer(https).outputs.arn });
    const actions = listener.inputs.defaultActions as { type: string; redirect?: Record<string, unknown> }[];
    expect(actions).toHaveLength(1);
    expect(actions[0]!.type).toBe('redirect');
    expect(actions[0]!.redirect).toMatchObject({ protocol: 'HTTPS', port: '443', statusCode: 'HTTP_301' });
  });

  test('the url output is https://<load balancer DNS name>', () => {
    expect(https.outputs.url).toBe(`https://${String(loadBalancer(https).outputs.dnsName)}`);
  });
});

test.each([
  ['HTTP', () => http],
  ['HTTPS', () => https],
])('(%s) the load balancer is an ALB that drops requests with invalid header fields', (_label, run) => {
  expect(loadBalancer(run()).inputs).toMatchObject({ loadBalancerType: 'application', dropInvalidHeaderFields: true });
});

test('the target group sends to task IPs on 8080 and checks GET /healthz for a 200', () => {
  const { inputs } = targetGroup(http);
  expect(inputs).toMatchObject({ targetType: 'ip', port: 8080, protocol: 'HTTP' });
  expect(inputs.healthCheck).toMatchObject({ path: '/healthz', matcher: '200' });
  expect((inputs.healthCheck as { enabled?: boolean }).enabled).not.toBe(false);
});

test("the deregistration delay (20 s) matches the gateway's drain, and ECS waits longer than that before SIGKILL", () => {
  const delay = Number(targetGroup(http).inputs.deregistrationDelay);
  expect(delay).toBe(20);
  const container = onlyContainer(http);
  expect(plainEnvironment(container).ATLAS_SHUTDOWN_GRACE_MS).toBe('20000');
  // The gateway itself reads that drain from its environment.
  expect(readSettings(processEnvironment(http)).shutdownGraceMs).toBe(delay * 1000);
  expect(container.stopTimeout).toBeGreaterThan(delay);
  expect(container.stopTimeout).toBeLessThanOrEqual(FARGATE_MAX_STOP_TIMEOUT);
});
