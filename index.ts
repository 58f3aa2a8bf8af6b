import * as aws from '@pulumi/aws';
import * as awsx from '@pulumi/awsx';
import * as pulumi from '@pulumi/pulumi';
import { Alerts } from './pipeline/alerts';
import { BronzeLayer } from './pipeline/bronze-layer';
import { Catalog, catalogDatabaseName } from './pipeline/catalog';
import { PROJECT, parameterNamesFor, parseConfig } from './pipeline/config';
import { checkDeployable } from './pipeline/deploy-checks';
import { Monitoring } from './pipeline/monitoring';
import { Orchestration } from './pipeline/orchestration';
import { RawLayer } from './pipeline/raw-layer';
import { SilverLayer } from './pipeline/silver-layer';

const stack = pulumi.getStack();
const config = checkDeployable(parseConfig(pulumi.runtime.allConfig()));
const secrets = new pulumi.Config();
const parameterNames = parameterNamesFor(stack, config.siteUrl);

// One provider per layer so that default tags attribute every resource's cost to its layer.
const region = new pulumi.Config('aws').require('region') as aws.Region;
const provider = (layer: string) => new aws.Provider(`aws-${layer}`, { region, defaultTags: { tags: { project: PROJECT, stack, layer } } });

const alerts = new Alerts('alerts', { stack, alertEmail: config.alertEmail, kmsKeyId: config.snsKmsKeyId }, { provider: provider('alerts') });
const lambdaFailureTopicArn = alerts.lambdaFailureTopic.arn;

const password = secrets.getSecret('wordpressPassword');
const raw = new RawLayer(
  'raw',
  {
    config,
    stack,
    parameterNames,
    lambdaFailureTopicArn,
    credentials: config.wordpressUsername && password ? pulumi.secret(pulumi.jsonStringify({ username: config.wordpressUsername, password })) : undefined,
  },
  { provider: provider('raw') },
);

const catalog = new Catalog('catalog', { config, stack }, { provider: provider('catalog') });

const bronze = new BronzeLayer(
  'bronze',
  {
    config,
    stack,
    parameterNames,
    rawBucketArn: raw.bucket.arn,
    rawBucketParameterArn: raw.bucketParameter.arn,
    lambdaFailureTopicArn,
    rawRoleName: raw.role.name,
    catalog: { databaseName: catalogDatabaseName(stack), arns: catalog.glueArns },
  },
  { provider: provider('bronze') },
);

const silver = new SilverLayer(
  'silver',
  {
    config,
    stack,
    bronzeBucketArn: bronze.bucket.arn,
    bronzeBucketParameter: { name: parameterNames.bronzeBucket, arn: bronze.bucketParameter.arn },
    lambdaFailureTopicArn,
    bronzeDatabaseName: catalogDatabaseName(stack),
  },
  { provider: provider('silver') },
);

const orchestration = new Orchestration(
  'orchestration',
  {
    config,
    stack,
    rawFunction: raw.function,
    bronzeFunction: bronze.function,
    endpointsParameter: raw.endpointsParameter,
    silver: { function: silver.function, topic: silver.topic },
  },
  { provider: provider('orchestration') },
);

const monitoring = new Monitoring(
  'monitoring',
  {
    stack,
    freshnessHours: config.freshnessHours,
    stateMachineArn: orchestration.stateMachine.arn,
    failureTopicArn: orchestration.failureTopic.arn,
    rawFunctionName: raw.function.name,
    bronzeFunctionName: bronze.function.name,
  },
  { provider: provider('monitoring') },
);

if (config.auditTrail) {
  new awsx.cloudtrail.Trail(
    'audit',
    {
      name: `${PROJECT}-${stack}-data-events`,
      enableLogFileValidation: true,
      includeGlobalServiceEvents: false,
      advancedEventSelectors: [
        {
          name: 'S3 data events on the raw, bronze and silver buckets',
          fieldSelectors: [
            { field: 'eventCategory', equals: ['Data'] },
            { field: 'resources.type', equals: ['AWS::S3::Object'] },
            { field: 'resources.ARN', startsWiths: [pulumi.interpolate`${raw.bucket.arn}/`, pulumi.interpolate`${bronze.bucket.arn}/`, pulumi.interpolate`${silver.bucket.arn}/`] },
          ],
        },
      ],
    },
    { providers: { aws: provider('audit') } },
  );
}

export const rawBucketName = raw.bucket.bucket;
export const bronzeBucketName = bronze.bucket.bucket;
export const rawTopicArn = raw.topic.arn;
export const bronzeTopicArn = bronze.topic.arn;
export const lambdaFailureTopic = lambdaFailureTopicArn;
export const stateMachineFailureTopicArn = orchestration.failureTopic.arn;
export const rawFunctionName = raw.function.name;
export const bronzeFunctionName = bronze.function.name;
export const silverBucketName = silver.bucket.bucket;
export const silverTopicArn = silver.topic.arn;
export const silverFunctionName = silver.function.name;
export const silverDatabase = silver.database.name;
export const stateMachineArn = orchestration.stateMachine.arn;
export const scheduleName = orchestration.schedule.name;
export const dashboardName = monitoring.dashboard.dashboardName;
export const parameters = parameterNames;
export const catalogDatabase = catalog.database.name;
export const athenaWorkgroup = catalog.workgroup.name;
export const athenaResultsBucket = catalog.resultsBucket.bucket;
