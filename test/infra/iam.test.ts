import { type DeclaredResource, type ProgramRun, runProgram } from '../helpers/pulumi-program';

const EXECUTION_POLICY_ARN = 'arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy';
const ATTACHMENT_TYPES = [
  'aws:iam/rolePolicy:RolePolicy',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment',
  'aws:iam/policyAttachment:PolicyAttachment',
  'aws:iam/rolePoliciesExclusive:RolePoliciesExclusive',
  'aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive',
];

interface PolicyStatement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: string | Record<string, string | string[]>;
  NotPrincipal?: unknown;
}

let run: ProgramRun;
let executionRole: DeclaredResource;
let taskRole: DeclaredResource;
beforeAll(async () => {
  run = await runProgram({
    config: {
      adapters: [
        {
          name: 'heroku',
          baseUrl: 'https://api.heroku.com',
          headers: [{ name: 'Authorization', value: 'Bearer ${{ HEROKU_API_KEY }}' }],
        },
        {
          name: 'github',
          baseUrl: 'https://api.github.com',
          headers: [{ name: 'Authorization', value: 'token ${{ GITHUB_TOKEN }}' }],
        },
      ],
      HEROKU_API_KEY: 'heroku-key-for-iam-tests',
      GITHUB_TOKEN: 'github-token-for-iam-tests',
    },
    secretKeys: ['HEROKU_API_KEY', 'GITHUB_TOKEN'],
  });
  const taskDefinition = run.one('aws:ecs/taskDefinition:TaskDefinition');
  executionRole = roleWithArn(taskDefinition.inputs.executionRoleArn);
  taskRole = roleWithArn(taskDefinition.inputs.taskRoleArn);
});

function roleWithArn(arn: unknown): DeclaredResource {
  const role = run.ofType('aws:iam/role:Role').find((candidate) => candidate.outputs.arn === arn);
  if (role === undefined) throw new Error(`no declared role has the ARN ${String(arn)}`);
  return role;
}

/** Every string anywhere in a value. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
}

/** Resources whose inputs name the role by id, name or ARN. */
function referencing(role: DeclaredResource): DeclaredResource[] {
  const handles = new Set([role.id, role.outputs.name, role.outputs.arn].filter((h) => typeof h === 'string'));
  return run.resources.filter(
    (resource) => resource !== role && stringsIn(resource.inputs).some((text) => handles.has(text)),
  );
}

function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function statementsOf(policy: unknown): PolicyStatement[] {
  const document = (typeof policy === 'string' ? JSON.parse(policy) : policy) as {
    Statement: PolicyStatement | PolicyStatement[];
  };
  return Array.isArray(document.Statement) ? document.Statement : [document.Statement];
}

test('the task definition uses two different roles for execution and for the task', () => {
  expect(executionRole).not.toBe(taskRole);
});

test('the execution role has AmazonECSTaskExecutionRolePolicy attached, and no other managed policy', () => {
  const attached = referencing(executionRole)
    .filter((resource) => resource.type === 'aws:iam/rolePolicyAttachment:RolePolicyAttachment')
    .map((attachment) => attachment.inputs.policyArn);
  expect(attached).toEqual([EXECUTION_POLICY_ARN]);
  expect(executionRole.inputs.managedPolicyArns ?? []).toEqual([]);
});

test("the execution role's inline policy allows only secretsmanager:GetSecretValue on exactly the gateway's secrets", () => {
  const inline = referencing(executionRole).filter((resource) => resource.type === 'aws:iam/rolePolicy:RolePolicy');
  expect(inline).toHaveLength(1);
  expect(executionRole.inputs.inlinePolicies ?? []).toEqual([]);
  const policy = inline[0]!.inputs.policy;
  const statements = statementsOf(policy);
  for (const statement of statements) {
    expect(statement.Effect).toBe('Allow');
    expect(statement.NotAction).toBeUndefined();
    expect(statement.NotResource).toBeUndefined();
    expect(listOf(statement.Action)).toEqual(['secretsmanager:GetSecretValue']);
  }
  const resources = new Set(statements.flatMap((statement) => listOf(statement.Resource)));
  const secretArns = run.ofType('aws:secretsmanager/secret:Secret').map((secret) => secret.outputs.arn);
  expect(secretArns).toHaveLength(3);
  expect([...resources].sort()).toEqual([...secretArns].sort());
  expect(typeof policy === 'string' ? policy : JSON.stringify(policy)).not.toContain('*');
});

test.each([
  ['execution role', () => executionRole],
  ['task role', () => taskRole],
])('the %s can be assumed only by ecs-tasks.amazonaws.com', (_label, role) => {
  const statements = statementsOf(role().inputs.assumeRolePolicy);
  expect(statements.length).toBeGreaterThan(0);
  for (const statement of statements) {
    expect(statement.Effect).toBe('Allow');
    expect(listOf(statement.Action)).toEqual(['sts:AssumeRole']);
    expect(statement.NotPrincipal).toBeUndefined();
    expect(statement.Principal).toEqual({ Service: 'ecs-tasks.amazonaws.com' });
  }
});

test('the task role has no permissions: no policy of any kind names it', () => {
  const attachedTo = referencing(taskRole).filter((resource) => ATTACHMENT_TYPES.includes(resource.type));
  expect(attachedTo.map((resource) => `${resource.type} ${resource.name}`)).toEqual([]);
  expect(taskRole.inputs.inlinePolicies ?? []).toEqual([]);
  expect(taskRole.inputs.managedPolicyArns ?? []).toEqual([]);
  // Only the task definition refers to it.
  expect(referencing(taskRole).map((resource) => resource.type)).toEqual(['aws:ecs/taskDefinition:TaskDefinition']);
});
