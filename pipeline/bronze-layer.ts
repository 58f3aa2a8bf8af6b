import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { BronzeEvent, BronzeSummary, ParameterNames } from '../handlers/contracts';
import { bronzeCallbackFactory } from '../handlers/bronze';
import { alertTopic } from './alert-topic';
import type { PipelineConfig } from './config';
import { hardenedBucket } from './hardened-bucket';
import { EXCLUDED_PACKAGES, bronzeHandlerOptions, converterFunctionSettings } from './handler-options';
import { layerParameter } from './layer-parameter';
import { PipelineFunction } from './pipeline-function';
import { bronzeFunctionPolicy, stateReaderPolicy } from './policies';

export interface BronzeLayerArgs {
  config: PipelineConfig;
  /** Stack name, appended to physical names so two stacks can share an account. */
  stack: string;
  parameterNames: Required<ParameterNames>;
  /** The raw bucket the bronze function reads. */
  rawBucketArn: pulumi.Input<string>;
  /** The raw layer's bucket-name parameter, which the bronze function reads too. */
  rawBucketParameterArn: pulumi.Input<string>;
  /** The `failure-lambda` topic (Alerts). */
  lambdaFailureTopicArn: pulumi.Input<string>;
  /** The raw function's role: it reads the state bronze writes (marks, id sets) and nothing else of bronze. */
  rawRoleName: pulumi.Input<string>;
  /** The Glue database the function registers its tables in, and the ARNs its Glue calls are scoped to. */
  catalog: { databaseName: string; arns: { catalog: pulumi.Input<string>; database: pulumi.Input<string>; tables: pulumi.Input<string> } };
}

/** Bronze layer: the bronze bucket, its topic and parameters, and `data_wordpressapi_bronze` (JSON -> Parquet). */
export class BronzeLayer extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly topic: aws.sns.Topic;
  public readonly function: aws.lambda.CallbackFunction<BronzeEvent, BronzeSummary | { key: string }>;
  public readonly role: aws.iam.Role;
  public readonly bucketParameter: aws.ssm.Parameter;
  public readonly topicParameter: aws.ssm.Parameter;

  constructor(name: string, args: BronzeLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('wordpress-lakehouse:pipeline:BronzeLayer', name, {}, opts);
    const { config, parameterNames: names } = args;
    const functionName = `data_wordpressapi_bronze-${args.stack}`;

    this.bucket = hardenedBucket(`${name}-bucket`, { noncurrentVersionDays: config.noncurrentVersionDays }, this);
    this.topic = alertTopic(`${name}-topic`, { displayName: `data-lakehouse-bronze (${args.stack})`, alertEmail: config.alertEmail, kmsKeyId: config.snsKmsKeyId }, this);
    this.bucketParameter = layerParameter(`${name}-bucket-name`, { name: names.bronzeBucket, value: this.bucket.bucket, description: 'Bronze layer bucket name' }, this);
    this.topicParameter = layerParameter(`${name}-topic-arn`, { name: names.bronzeTopicArn, value: this.topic.arn, description: 'Bronze layer alert topic ARN' }, this);

    const fn = new PipelineFunction<BronzeEvent, BronzeSummary | { key: string }>(
      `${name}-function`,
      {
        functionName,
        description: `Merges each run's s3://<raw>/${config.dataSource}/ JSON into the s3://<bronze>/${config.dataSource}/ Parquet tables`,
        callbackFactory: bronzeCallbackFactory({ ...bronzeHandlerOptions(config, functionName, { ...names, credentials: undefined }), catalogDatabase: args.catalog.databaseName }),
        policy: (logGroupArn) =>
          bronzeFunctionPolicy({
            logGroupArn,
            rawBucketArn: args.rawBucketArn,
            bronzeBucketArn: this.bucket.arn,
            dataSource: config.dataSource,
            topicArns: [this.topic.arn, args.lambdaFailureTopicArn],
            parameterArns: [args.rawBucketParameterArn, this.bucketParameter.arn, this.topicParameter.arn],
            glue: args.catalog.arns,
          }),
        ...converterFunctionSettings(config, args.lambdaFailureTopicArn),
        excludePackages: [...EXCLUDED_PACKAGES.bronze],
      },
      this,
    );
    this.function = fn.function;
    this.role = fn.role;

    new aws.iam.RolePolicy(
      `${name}-state-reader`,
      {
        role: args.rawRoleName,
        policy: pulumi.jsonStringify(stateReaderPolicy({ bronzeBucketArn: this.bucket.arn, dataSource: config.dataSource, bronzeBucketParameterArn: this.bucketParameter.arn })),
      },
      { parent: this },
    );

    this.registerOutputs({ bucketName: this.bucket.bucket, topicArn: this.topic.arn, functionName: this.function.name });
  }
}
