import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { alarmTopicKey, isAwsManagedKey } from './alarm-topic-key';
import { alertTopic } from './alert-topic';
import { alarmNamePrefix } from './monitoring';
import type { PipelineConfig } from './config';
import { assumeRolePolicy, schedulerPolicy, stateMachinePolicy } from './policies';
import { stateMachineSettings } from './handler-options';
import { MAP_LABEL, STATE_MACHINE_NAME, buildDefinition } from './state-machine';

export interface OrchestrationArgs {
  config: PipelineConfig;
  /** Stack name, appended to physical names so two stacks can share an account. */
  stack: string;
  rawFunction: aws.lambda.Function;
  bronzeFunction: aws.lambda.Function;
  /** The SSM parameter holding the endpoint list that the Map iterates over. */
  endpointsParameter: aws.ssm.Parameter;
  /** The silver function, run after bronze, and the topic its failures are published on. @default none: the run ends at bronze */
  silver?: { function: aws.lambda.Function; topic: aws.sns.Topic };
}

/**
 * Orchestration: the `WordPress_Raw_To_Bronze` state machine with its role, log group and
 * `failure-stepfunction` topic, and the EventBridge Scheduler schedule that starts it daily.
 */
export class Orchestration extends pulumi.ComponentResource {
  public readonly stateMachine: aws.sfn.StateMachine;
  public readonly role: aws.iam.Role;
  public readonly failureTopic: aws.sns.Topic;
  /** The failure topic's own key, when `snsKmsKeyId` names an AWS managed key (CloudWatch alarms cannot use those). */
  public readonly failureTopicKey?: aws.kms.Key;
  public readonly schedule: aws.scheduler.Schedule;
  public readonly schedulerRole: aws.iam.Role;

  constructor(name: string, args: OrchestrationArgs, opts?: pulumi.ComponentResourceOptions) {
    super('wordpress-lakehouse:pipeline:Orchestration', name, {}, opts);
    const { config } = args;
    const parent = { parent: this };

    // The account, read off a function's ARN, pins each service role's trust to this account
    // (confused-deputy protection) without an extra provider call; the partition and region name
    // the state machine and the key's grants the same way.
    const arnPart = (index: number) => args.rawFunction.arn.apply((arn) => arn.split(':')[index]);
    const [partition, region, account] = [arnPart(1), arnPart(3), arnPart(4)];

    // Monitoring's alarms publish here too, which an AWS managed key cannot allow: such a key is
    // replaced by one of the stack's own (alarm-topic-key.ts).
    this.failureTopicKey = isAwsManagedKey(config.snsKmsKeyId)
      ? alarmTopicKey(`${name}-failure-stepfunction`, { stack: args.stack, partition, account, region, alarmNamePrefix: alarmNamePrefix(args.stack) }, this)
      : undefined;
    const failureTopicKeyId = this.failureTopicKey?.arn ?? config.snsKmsKeyId;
    this.failureTopic = alertTopic(`${name}-failure-stepfunction`, { displayName: `failure-stepfunction (${args.stack})`, alertEmail: config.alertEmail, kmsKeyId: failureTopicKeyId }, this);
    const machineName = `${STATE_MACHINE_NAME}-${args.stack}`;
    const machineArn = pulumi.interpolate`arn:${partition}:states:${region}:${account}:stateMachine:${machineName}`;
    this.role = new aws.iam.Role(
      `${name}-state-machine`,
      { assumeRolePolicy: pulumi.jsonStringify(assumeRolePolicy('states.amazonaws.com', account)), description: `Role of ${STATE_MACHINE_NAME}-${args.stack}` },
      parent,
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-state-machine`,
      {
        role: this.role.id,
        policy: pulumi.jsonStringify(
          stateMachinePolicy({
            functionArns: [args.rawFunction.arn, args.bronzeFunction.arn, ...(args.silver ? [args.silver.function.arn] : [])],
            failureTopicArn: this.failureTopic.arn,
            silverTopicArn: args.silver?.topic.arn,
            ...(this.failureTopicKey && { failureTopicKey: { arn: this.failureTopicKey.arn, region } }),
            endpointsParameterArn: args.endpointsParameter.arn,
            stateMachineArn: machineArn,
            mapLabel: MAP_LABEL,
          }),
        ),
      },
      parent,
    );
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-state-machine`,
      { name: `/aws/vendedlogs/states/${STATE_MACHINE_NAME}-${args.stack}`, retentionInDays: config.logRetentionDays },
      parent,
    );

    this.stateMachine = new aws.sfn.StateMachine(
      `${name}-state-machine`,
      {
        name: machineName,
        type: 'STANDARD',
        roleArn: this.role.arn,
        definition: pulumi.jsonStringify(
          buildDefinition(
            {
              rawFunctionArn: args.rawFunction.arn,
              bronzeFunctionArn: args.bronzeFunction.arn,
              failureTopicArn: this.failureTopic.arn,
              endpointsParameterName: args.endpointsParameter.name,
              ...(args.silver && { silver: { functionArn: args.silver.function.arn, topicArn: args.silver.topic.arn } }),
            },
            stateMachineSettings(config),
          ),
        ),
        loggingConfiguration: { level: 'ERROR', includeExecutionData: true, logDestination: pulumi.interpolate`${logGroup.arn}:*` },
      },
      { parent: this, dependsOn: [policy] },
    );

    this.schedulerRole = new aws.iam.Role(
      `${name}-scheduler`,
      { assumeRolePolicy: pulumi.jsonStringify(assumeRolePolicy('scheduler.amazonaws.com', account)), description: `Lets EventBridge Scheduler start ${STATE_MACHINE_NAME}-${args.stack}` },
      parent,
    );
    const schedulerRolePolicy = new aws.iam.RolePolicy(`${name}-scheduler`, { role: this.schedulerRole.id, policy: pulumi.jsonStringify(schedulerPolicy(this.stateMachine.arn)) }, parent);

    this.schedule = new aws.scheduler.Schedule(
      `${name}-schedule`,
      {
        name: `${STATE_MACHINE_NAME}-${args.stack}`,
        description: `Starts ${STATE_MACHINE_NAME}-${args.stack} daily`,
        scheduleExpression: config.schedule,
        scheduleExpressionTimezone: config.timezone,
        flexibleTimeWindow: { mode: 'OFF' },
        target: {
          arn: this.stateMachine.arn,
          roleArn: this.schedulerRole.arn,
          input: JSON.stringify({ trigger: 'schedule' }),
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        },
      },
      { parent: this, dependsOn: [schedulerRolePolicy] },
    );

    this.registerOutputs({
      stateMachineArn: this.stateMachine.arn,
      scheduleName: this.schedule.name,
      failureTopicArn: this.failureTopic.arn,
    });
  }
}
