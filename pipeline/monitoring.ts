import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { BRONZE_METRICS, METRICS_NAMESPACE, METRIC_DIMENSIONS, RAW_METRICS } from '../handlers/metrics';
import { PROJECT } from './config';

export interface MonitoringArgs {
  /** Stack name, in every alarm's and the dashboard's name so two stacks can share an account. */
  stack: string;
  /** Hours without a succeeded execution after which the freshness alarm fires (config `freshnessHours`). */
  freshnessHours: number;
  stateMachineArn: pulumi.Input<string>;
  /** Where every alarm reports (Orchestration's failure topic, whose key lets CloudWatch publish). */
  failureTopicArn: pulumi.Input<string>;
  /** The functions whose embedded metrics the dashboard charts. */
  rawFunctionName: pulumi.Input<string>;
  bronzeFunctionName: pulumi.Input<string>;
}

/** Every alarm of a stack is named `<project>-<stack>-...`; the failure topic's key trusts exactly these. */
export function alarmNamePrefix(stack: string): string {
  return `${PROJECT}-${stack}-`;
}

/** Step Functions' execution metrics that each mean a run which did not succeed, with the alarm each gets. */
export const UNSUCCESSFUL_EXECUTIONS = [
  { metricName: 'ExecutionsFailed', alarm: 'run-failed', what: 'failed' },
  { metricName: 'ExecutionsTimedOut', alarm: 'run-timed-out', what: 'timed out' },
  { metricName: 'ExecutionsAborted', alarm: 'run-aborted', what: 'was aborted (stopped by hand or by a deploy)' },
] as const;

/**
 * Alarms that do not depend on a run reaching its own alert step, and a dashboard of what each run
 * did per endpoint. The alarms read Step Functions' own metrics: one fires when no execution
 * succeeded for `freshnessHours` (the schedule stopped, its role broke, an account limit), the
 * others on any failed, timed-out or aborted execution, even when the run's PublishFailure is
 * what broke. The dashboard charts the figures the handlers log in the embedded metric format.
 */
export class Monitoring extends pulumi.ComponentResource {
  public readonly freshnessAlarm: aws.cloudwatch.MetricAlarm;
  public readonly executionAlarms: aws.cloudwatch.MetricAlarm[];
  public readonly dashboard: aws.cloudwatch.Dashboard;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super('wordpress-lakehouse:pipeline:Monitoring', name, {}, opts);
    const parent = { parent: this };
    const prefix = alarmNamePrefix(args.stack);
    const dimensions = { StateMachineArn: args.stateMachineArn };
    const actions = [args.failureTopicArn];

    // Hourly sums over freshnessHours periods, all of which must breach: one success in any hour of
    // the window keeps the alarm quiet. An hour without executions has no data point at all, which
    // is exactly what must count as breaching.
    this.freshnessAlarm = new aws.cloudwatch.MetricAlarm(
      `${name}-no-successful-run`,
      {
        name: `${prefix}no-successful-run`,
        alarmDescription: `No execution of the state machine succeeded in the last ${args.freshnessHours} hours (config freshnessHours): check the schedule, its role and the last executions.`,
        namespace: 'AWS/States',
        metricName: 'ExecutionsSucceeded',
        dimensions,
        statistic: 'Sum',
        period: 3600,
        evaluationPeriods: args.freshnessHours,
        datapointsToAlarm: args.freshnessHours,
        threshold: 1,
        comparisonOperator: 'LessThanThreshold',
        treatMissingData: 'breaching',
        alarmActions: actions,
        okActions: actions,
      },
      parent,
    );

    // Five-minute sums: an execution that ended badly raises its alarm within minutes, and the alarm
    // clears itself once a period passes without one, ready for the next.
    this.executionAlarms = UNSUCCESSFUL_EXECUTIONS.map(
      ({ metricName, alarm, what }) =>
        new aws.cloudwatch.MetricAlarm(
          `${name}-${alarm}`,
          {
            name: `${prefix}${alarm}`,
            alarmDescription: `An execution of the state machine ${what}: its history in the Step Functions console says where and why.`,
            namespace: 'AWS/States',
            metricName,
            dimensions,
            statistic: 'Sum',
            period: 300,
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: 'GreaterThanOrEqualToThreshold',
            treatMissingData: 'notBreaching',
            alarmActions: actions,
          },
          parent,
        ),
    );

    const alarmArns = [this.freshnessAlarm, ...this.executionAlarms].map((alarm) => alarm.arn);
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: `${PROJECT}-${args.stack}`,
        dashboardBody: pulumi
          .all([args.stateMachineArn, args.rawFunctionName, args.bronzeFunctionName, pulumi.all(alarmArns)])
          .apply(([stateMachineArn, rawFunctionName, bronzeFunctionName, alarms]) => JSON.stringify(dashboardBody({ stateMachineArn, rawFunctionName, bronzeFunctionName, alarmArns: alarms }))),
      },
      parent,
    );

    this.registerOutputs({ dashboardName: this.dashboard.dashboardName, alarmArns });
  }
}

export interface DashboardArgs {
  stateMachineArn: string;
  rawFunctionName: string;
  bronzeFunctionName: string;
  alarmArns: string[];
}

/** One chart in the dashboard's 24-column grid: three to a row. */
const WIDTH = 8;
const HEIGHT = 6;

/**
 * The dashboard body, pure: alarm states, the executions, then one chart per figure with a line per
 * endpoint. Lines come from a SEARCH over the handlers' metrics rather than a list fixed at deploy
 * time, so an endpoint added through its SSM parameter appears without a deploy. Each point is
 * the largest value of an hour: a run's figure, and the larger one if two runs shared an hour.
 */
export function dashboardBody(args: DashboardArgs): { start: string; periodOverride: string; widgets: unknown[] } {
  const region = args.stateMachineArn.split(':')[3];
  const figures = (layer: string, functionName: string, units: Readonly<Record<string, string>>) =>
    Object.entries(units).map(([metric, unit]) => ({
      type: 'metric',
      width: WIDTH,
      height: HEIGHT,
      properties: {
        title: `${layer}: ${metric} per endpoint (${unit})`,
        region,
        view: 'timeSeries',
        stat: 'Maximum',
        period: 3600,
        metrics: [[{ id: 'e1', label: "${PROP('Dim.endpoint')}", expression: searchExpression(functionName, metric) }]],
        yAxis: { left: { min: 0 } },
      },
    }));
  return {
    start: '-P30D',
    periodOverride: 'inherit',
    widgets: [
      { type: 'alarm', width: 24, height: 3, properties: { title: 'Alarms (to the failure topic)', alarms: args.alarmArns } },
      {
        type: 'metric',
        width: 24,
        height: HEIGHT,
        properties: {
          title: 'Executions per hour',
          region,
          view: 'timeSeries',
          stat: 'Sum',
          period: 3600,
          metrics: ['ExecutionsSucceeded', ...UNSUCCESSFUL_EXECUTIONS.map((e) => e.metricName)].map((metric) => ['AWS/States', metric, 'StateMachineArn', args.stateMachineArn]),
        },
      },
      ...figures('raw', args.rawFunctionName, RAW_METRICS),
      ...figures('bronze', args.bronzeFunctionName, BRONZE_METRICS),
    ],
  };
}

/** Every endpoint's series of one metric of one function (CloudWatch search expression syntax). */
export function searchExpression(functionName: string, metric: string): string {
  return `SEARCH('{"${METRICS_NAMESPACE}",${METRIC_DIMENSIONS.join(',')}} function="${functionName}" MetricName="${metric}"', 'Maximum', 3600)`;
}
