import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import path from 'node:path';

const REPO_ROOT = path.resolve(__dirname, '..');

/**
 * The gateway image, built from gateway/Dockerfile with the repository as
 * context (its build stage installs from the root lockfile and bundles the
 * gateway), for the Fargate tasks' platform, and pushed to a private ECR
 * repository.
 */
export function buildGatewayImage(
  name: string,
  opts?: pulumi.ComponentResourceOptions,
): { imageUri: pulumi.Output<string> } {
  const repository = new awsx.ecr.Repository(
    name,
    { forceDelete: true, imageScanningConfiguration: { scanOnPush: true } },
    opts,
  );
  const image = new awsx.ecr.Image(
    name,
    {
      repositoryUrl: repository.url,
      context: REPO_ROOT,
      dockerfile: path.join(REPO_ROOT, 'gateway', 'Dockerfile'),
      platform: 'linux/amd64',
    },
    opts,
  );
  return { imageUri: image.imageUri };
}
