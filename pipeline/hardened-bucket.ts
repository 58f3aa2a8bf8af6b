import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { tlsOnlyBucketPolicy } from './policies';

export interface HardenedBucketArgs {
  /** Days a replaced or deleted object version is kept, so a bad run can be rolled back. */
  noncurrentVersionDays: number;
  /**
   * Days after which every object expires (query results, which nobody needs to keep).
   * @default never
   */
  expireObjectsDays?: number;
}

/**
 * A private, encrypted, versioned bucket: all four Block Public Access flags, SSE-KMS with the
 * AWS-managed key and a bucket key (fewer KMS calls, so cheaper), TLS-only access, ACLs
 * disabled, old versions expiring. Not a component: its resources belong to the layer.
 */
export function hardenedBucket(name: string, args: HardenedBucketArgs, parent: pulumi.Resource): aws.s3.Bucket {
  const opts = { parent };
  const bucket = new aws.s3.Bucket(name, { forceDestroy: false }, opts);
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    name,
    { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    opts,
  );
  new aws.s3.BucketOwnershipControls(name, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } }, opts);
  new aws.s3.BucketServerSideEncryptionConfiguration(
    name,
    { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms' }, bucketKeyEnabled: true }] },
    opts,
  );
  const versioning = new aws.s3.BucketVersioning(name, { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } }, opts);
  new aws.s3.BucketLifecycleConfiguration(
    name,
    {
      bucket: bucket.id,
      rules: [
        {
          id: 'expire-noncurrent-versions',
          status: 'Enabled',
          filter: {},
          noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionDays },
        },
        { id: 'abort-incomplete-multipart-uploads', status: 'Enabled', filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } },
        ...(args.expireObjectsDays !== undefined ? [{ id: 'expire-objects', status: 'Enabled', filter: {}, expiration: { days: args.expireObjectsDays } }] : []),
      ],
    },
    { parent, dependsOn: [versioning] },
  );
  // The public access block must exist first, or a policy with Principal "*" may be refused as public.
  new aws.s3.BucketPolicy(name, { bucket: bucket.id, policy: pulumi.jsonStringify(tlsOnlyBucketPolicy(bucket.arn)) }, { parent, dependsOn: [publicAccess] });
  return bucket;
}
