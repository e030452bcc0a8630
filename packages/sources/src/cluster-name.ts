/** Cluster references as the configuration and the events give them: a name or an ARN. */

/** The name part of a cluster ARN (`arn:…:cluster/<name>`), or the input when it is a bare name. */
export function clusterNameOf(clusterArnOrName: string): string {
  const marker = ':cluster/';
  const at = clusterArnOrName.indexOf(marker);
  return at === -1 ? clusterArnOrName : clusterArnOrName.slice(at + marker.length);
}

/** Whether two cluster references (name or ARN, either side) name the same cluster. */
export function clusterMatches(configured: string, observed: string): boolean {
  const bothArns = configured.startsWith('arn:') && observed.startsWith('arn:');
  return bothArns ? configured === observed : clusterNameOf(configured) === clusterNameOf(observed);
}
