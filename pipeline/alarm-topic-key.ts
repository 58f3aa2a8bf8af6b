import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { alarmTopicKeyPolicy } from './policies';

export interface AlarmTopicKeyArgs {
  /** Stack name, in the alias so two stacks can share an account. */
  stack: string;
  /** Partition, account and region of the stack, read off an ARN of one of its resources. */
  partition: pulumi.Input<string>;
  account: pulumi.Input<string>;
  region: pulumi.Input<string>;
  /** Names of the alarms allowed to publish start with this. */
  alarmNamePrefix: string;
}

/** Whether a key id names an AWS managed key (`alias/aws/sns`...), whose policy nobody but AWS can change. */
export function isAwsManagedKey(keyId: string): boolean {
  return /^(arn:[^:]+:kms:[^:]*:[^:]*:)?alias\/aws\//.test(keyId);
}

/**
 * A customer managed key, rotated yearly, for a topic that CloudWatch alarms publish to (see
 * alarmTopicKeyPolicy for why the AWS managed key cannot be that key). About 1 USD a month.
 * Not a component: it belongs to the layer that owns the topic.
 */
export function alarmTopicKey(name: string, args: AlarmTopicKeyArgs, parent: pulumi.Resource): aws.kms.Key {
  const policy = pulumi
    .all([args.partition, args.account, args.region])
    .apply(([partition, account, region]) => JSON.stringify(alarmTopicKeyPolicy({ partition, account, region, alarmNamePrefix: args.alarmNamePrefix })));
  const key = new aws.kms.Key(
    name,
    { description: `Encrypts the failure topic of wordpress-lakehouse ${args.stack}; usable by SNS and by the stack's CloudWatch alarms`, enableKeyRotation: true, deletionWindowInDays: 30, policy },
    { parent },
  );
  new aws.kms.Alias(name, { name: `alias/wordpress-lakehouse-${args.stack}-failure-topic`, targetKeyId: key.keyId }, { parent });
  return key;
}
