import type * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { alertTopic } from './alert-topic';

export interface AlertsArgs {
  /** Stack name, appended to physical names so two stacks can share an account. */
  stack: string;
  /** E-mail subscribed to the topic. @default none */
  alertEmail?: string;
  /** KMS key of the topic. */
  kmsKeyId: string;
}

/**
 * The `failure-lambda` topic: the on-failure destination of both functions' asynchronous
 * invocations (a manual `aws lambda invoke --invocation-type Event`, a future trigger). It has
 * its own component because both layers point at it and neither owns it.
 */
export class Alerts extends pulumi.ComponentResource {
  public readonly lambdaFailureTopic: aws.sns.Topic;

  constructor(name: string, args: AlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('wordpress-lakehouse:pipeline:Alerts', name, {}, opts);
    this.lambdaFailureTopic = alertTopic(`${name}-failure-lambda`, { displayName: `failure-lambda (${args.stack})`, alertEmail: args.alertEmail, kmsKeyId: args.kmsKeyId }, this);
    this.registerOutputs({ lambdaFailureTopicArn: this.lambdaFailureTopic.arn });
  }
}
