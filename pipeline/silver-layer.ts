import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { SilverEvent, SilverSummary } from '../handlers/silver';
import { silverCallbackFactory } from '../handlers/silver';
import { alertTopic } from './alert-topic';
import type { PipelineConfig } from './config';
import { hardenedBucket } from './hardened-bucket';
import { EXCLUDED_PACKAGES, converterFunctionSettings, silverBucketParameterName, silverDatabaseName, silverHandlerOptions } from './handler-options';
import { layerParameter } from './layer-parameter';
import { PipelineFunction } from './pipeline-function';
import { silverFunctionPolicy } from './policies';

export interface SilverLayerArgs {
  config: PipelineConfig;
  /** Stack name, appended to physical names so two stacks can share an account. */
  stack: string;
  /** The bronze bucket the silver function reads. */
  bronzeBucketArn: pulumi.Input<string>;
  /** The bronze layer's bucket-name parameter: its name is captured, its ARN allowed. */
  bronzeBucketParameter: { name: string; arn: pulumi.Input<string> };
  /** The `failure-lambda` topic (Alerts). */
  lambdaFailureTopicArn: pulumi.Input<string>;
  /** The bronze Glue database; silver's is `<it>_silver`. */
  bronzeDatabaseName: string;
}

/**
 * Silver layer: the silver bucket, its `data-lakehouse-silver` topic (which the state machine
 * publishes silver failures on), its Glue database, and `data_wordpressapi_silver`, which
 * rebuilds typed, plain-text, joined tables from bronze (docs/silver.md). The function is sized
 * like bronze's (memory, /tmp, timeout): it reads the same tables through the same converter.
 */
export class SilverLayer extends pulumi.ComponentResource {
  public readonly bucket: aws.s3.Bucket;
  public readonly topic: aws.sns.Topic;
  public readonly database: aws.glue.CatalogDatabase;
  public readonly function: aws.lambda.CallbackFunction<SilverEvent, SilverSummary>;
  public readonly role: aws.iam.Role;
  public readonly bucketParameter: aws.ssm.Parameter;

  constructor(name: string, args: SilverLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('wordpress-lakehouse:pipeline:SilverLayer', name, {}, opts);
    const { config } = args;
    const functionName = `data_wordpressapi_silver-${args.stack}`;
    const databaseName = silverDatabaseName(args.bronzeDatabaseName);

    this.bucket = hardenedBucket(`${name}-bucket`, { noncurrentVersionDays: config.noncurrentVersionDays }, this);
    this.topic = alertTopic(`${name}-topic`, { displayName: `data-lakehouse-silver (${args.stack})`, alertEmail: config.alertEmail, kmsKeyId: config.snsKmsKeyId }, this);
    const parameterName = silverBucketParameterName(args.stack);
    this.bucketParameter = layerParameter(`${name}-bucket-name`, { name: parameterName, value: this.bucket.bucket, description: 'Silver layer bucket name' }, this);
    this.database = new aws.glue.CatalogDatabase(
      `${name}-database`,
      { name: databaseName, description: `WordPress lakehouse silver tables of stack ${args.stack}, registered by ${functionName}` },
      { parent: this },
    );
    // arn:aws:glue:<region>:<account>:database/<name>; the catalog and table ARNs share its prefix.
    const prefix = this.database.arn.apply((arn) => arn.slice(0, arn.lastIndexOf(':database/')));

    const fn = new PipelineFunction<SilverEvent, SilverSummary>(
      `${name}-function`,
      {
        functionName,
        description: `Rebuilds the s3://<silver>/${config.dataSource}/ tables from the s3://<bronze>/${config.dataSource}/ tables`,
        callbackFactory: silverCallbackFactory({
          ...silverHandlerOptions(config, functionName, { bronzeBucket: args.bronzeBucketParameter.name, silverBucket: parameterName }),
          catalogDatabase: databaseName,
        }),
        policy: (logGroupArn) =>
          silverFunctionPolicy({
            logGroupArn,
            bronzeBucketArn: args.bronzeBucketArn,
            silverBucketArn: this.bucket.arn,
            dataSource: config.dataSource,
            failureTopicArn: args.lambdaFailureTopicArn,
            parameterArns: [args.bronzeBucketParameter.arn, this.bucketParameter.arn],
            glue: { catalog: pulumi.interpolate`${prefix}:catalog`, database: this.database.arn, tables: pulumi.interpolate`${prefix}:table/${databaseName}/*` },
          }),
        // The same converter as bronze's, on tables of bronze's size: the same runtime settings.
        ...converterFunctionSettings(config, args.lambdaFailureTopicArn),
        excludePackages: [...EXCLUDED_PACKAGES.silver],
      },
      this,
    );
    this.function = fn.function;
    this.role = fn.role;

    this.registerOutputs({ bucketName: this.bucket.bucket, topicArn: this.topic.arn, functionName: this.function.name, databaseName: this.database.name });
  }
}
