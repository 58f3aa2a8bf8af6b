import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { ParameterNames, PartResult, RawEvent, RawPlan, RawSummary } from '../handlers/contracts';
import { rawCallbackFactory } from '../handlers/raw';
import { alertTopic } from './alert-topic';
import type { PipelineConfig } from './config';
import { hardenedBucket } from './hardened-bucket';
import { EXCLUDED_PACKAGES, rawHandlerOptions } from './handler-options';
import { layerParameter } from './layer-parameter';
import { PipelineFunction } from './pipeline-function';
import { rawFunctionPolicy } from './policies';

export interface RawLayerArgs {
  config: PipelineConfig;
  /** Stack name, appended to physical names so two stacks can share an account. */
  stack: string;
  /** Every parameter name of the stack (the raw function reads its own subset). */
  parameterNames: Required<ParameterNames>;
  /** The `failure-lambda` topic (Alerts). */
  lambdaFailureTopicArn: pulumi.Input<string>;
  /**
   * `{"username","password"}` of a WordPress application password, as a Pulumi secret; stored
   * as an SSM SecureString that only the raw function can read. @default none (anonymous)
   */
  credentials?: pulumi.Input<string>;
}

/** Raw layer: the raw bucket, its topic and parameters, and `data_wordpressapi_raw` (WordPress -> JSON). */
export class RawLayer extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly topic: aws.sns.Topic;
  public readonly function: aws.lambda.CallbackFunction<RawEvent, RawSummary>;
  public readonly role: aws.iam.Role;
  public readonly bucketParameter: aws.ssm.Parameter;
  public readonly topicParameter: aws.ssm.Parameter;
  public readonly endpointsParameter: aws.ssm.Parameter;
  public readonly credentialsParameter?: aws.ssm.Parameter;

  constructor(name: string, args: RawLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('wordpress-lakehouse:pipeline:RawLayer', name, {}, opts);
    const { config, parameterNames: names } = args;
    const functionName = `data_wordpressapi_raw-${args.stack}`;

    this.bucket = hardenedBucket(`${name}-bucket`, { noncurrentVersionDays: config.noncurrentVersionDays }, this);
    this.topic = alertTopic(`${name}-topic`, { displayName: `data-lakehouse-raw (${args.stack})`, alertEmail: config.alertEmail, kmsKeyId: config.snsKmsKeyId }, this);

    this.bucketParameter = layerParameter(`${name}-bucket-name`, { name: names.rawBucket, value: this.bucket.bucket, description: 'Raw layer bucket name' }, this);
    this.topicParameter = layerParameter(`${name}-topic-arn`, { name: names.rawTopicArn, value: this.topic.arn, description: 'Raw layer alert topic ARN' }, this);
    this.endpointsParameter = layerParameter(`${name}-endpoints`, { name: names.endpoints, value: JSON.stringify(config.endpoints), description: 'WordPress endpoints to extract: JSON array of { name, url, paginate }' }, this);
    if (args.credentials) {
      this.credentialsParameter = new aws.ssm.Parameter(
        `${name}-credentials`,
        { name: names.credentials, type: 'SecureString', value: args.credentials, description: 'WordPress application password {"username","password"}' },
        { parent: this },
      );
    }
    const parameterArns = [this.bucketParameter.arn, this.topicParameter.arn, this.endpointsParameter.arn];
    if (this.credentialsParameter) parameterArns.push(this.credentialsParameter.arn);

    const fn = new PipelineFunction<RawEvent, RawSummary | RawPlan | PartResult>(
      `${name}-function`,
      {
        functionName,
        description: `Extracts ${config.siteUrl} REST API endpoints into s3://<raw>/${config.dataSource}/`,
        callbackFactory: rawCallbackFactory(
          rawHandlerOptions(config, functionName, { ...names, credentials: this.credentialsParameter ? names.credentials : undefined }),
        ),
        policy: (logGroupArn) =>
          rawFunctionPolicy({
            logGroupArn,
            rawBucketArn: this.bucket.arn,
            dataSource: config.dataSource,
            topicArns: [this.topic.arn, args.lambdaFailureTopicArn],
            parameterArns,
          }),
        memoryMb: config.rawMemoryMb,
        timeoutSeconds: config.rawTimeoutSeconds,
        logRetentionDays: config.logRetentionDays,
        failureTopicArn: args.lambdaFailureTopicArn,
        excludePackages: [...EXCLUDED_PACKAGES.raw],
      },
      this,
    );
    this.function = fn.function;
    this.role = fn.role;

    this.registerOutputs({
      bucketName: this.bucket.bucket,
      topicArn: this.topic.arn,
      functionName: this.function.name,
      endpointsParameterName: this.endpointsParameter.name,
    });
  }
}
