import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

export interface AtlasSecretsArgs {
  /** Environment variable name → secret value (a Pulumi secret). */
  readonly values: ReadonlyMap<string, pulumi.Input<string>>;
}

/** A reference the task definition can hand to ECS. */
export interface SecretReference {
  readonly arn: pulumi.Output<string>;
  /**
   * The secret's ARN pinned to its current version. Setting a new value
   * creates a new version, which changes this reference and so the task
   * definition: the service rolls and new tasks read the new value (ECS reads
   * secrets only when a task starts). A rollback goes back to the old version.
   */
  readonly valueFrom: pulumi.Output<string>;
}

/** One Secrets Manager secret per environment variable. */
export class AtlasSecrets extends pulumi.ComponentResource {
  readonly references: ReadonlyMap<string, SecretReference>;

  constructor(name: string, args: AtlasSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('atlas:index:Secrets', name, {}, opts);
    const references = new Map<string, SecretReference>();
    for (const [variable, value] of args.values) {
      const resourceName = `${name}-${variable.toLowerCase().replace(/_/g, '-')}`;
      const secret = new aws.secretsmanager.Secret(
        resourceName,
        { description: `Atlas gateway: the value of ${variable}`, tags: { 'atlas:variable': variable } },
        { parent: this },
      );
      const version = new aws.secretsmanager.SecretVersion(
        resourceName,
        { secretId: secret.id, secretString: pulumi.secret(value) },
        { parent: this },
      );
      references.set(variable, {
        arn: secret.arn,
        // <arn>:<json-key>:<version-stage>:<version-id>, with the whole string and no stage.
        valueFrom: pulumi.interpolate`${secret.arn}:::${version.versionId}`,
      });
    }
    this.references = references;
    this.registerOutputs({ arns: Object.fromEntries([...references].map(([variable, ref]) => [variable, ref.arn])) });
  }
}
