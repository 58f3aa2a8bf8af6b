import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';

export interface AlertTopicArgs {
  /** Shown as the sender of e-mail alerts. */
  displayName: string;
  /** Subscribed by e-mail when set (AWS sends a confirmation mail first). */
  alertEmail?: string;
  /** KMS key that encrypts messages at rest. */
  kmsKeyId: pulumi.Input<string>;
}

/** An encrypted SNS topic with an optional e-mail subscription. */
export function alertTopic(name: string, args: AlertTopicArgs, parent: pulumi.Resource): aws.sns.Topic {
  const topic = new aws.sns.Topic(name, { displayName: args.displayName, kmsMasterKeyId: args.kmsKeyId }, { parent });
  if (args.alertEmail) {
    new aws.sns.TopicSubscription(name, { topic: topic.arn, protocol: 'email', endpoint: args.alertEmail }, { parent });
  }
  return topic;
}
