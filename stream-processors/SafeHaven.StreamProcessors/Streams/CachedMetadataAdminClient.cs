using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace SafeHaven.StreamProcessors.Streams;

/// <summary>
/// An admin client that answers per-topic metadata lookups from a <see cref="TopicMetadataCache"/> and passes every
/// other call to <paramref name="inner"/> unchanged (see <see cref="WarmKafkaSupplier"/> for why).
/// </summary>
/// <param name="inner">The admin client Streamiz would have used.</param>
/// <param name="cache">Answers for the topics it knows; owned and disposed by this client.</param>
internal sealed class CachedMetadataAdminClient(IAdminClient inner, TopicMetadataCache cache) : IAdminClient
{
    /// <summary>From memory for a topic the cache knows, else from the broker (Streamiz's own call).</summary>
    public Metadata GetMetadata(string topic, TimeSpan timeout) => cache.Get(topic, () => inner.GetMetadata(topic, timeout));

    public Handle Handle => inner.Handle;

    public string Name => inner.Name;

    public int AddBrokers(string brokers) => inner.AddBrokers(brokers);

    public void SetSaslCredentials(string username, string password) => inner.SetSaslCredentials(username, password);

    public List<GroupInfo> ListGroups(TimeSpan timeout) => inner.ListGroups(timeout);
    public GroupInfo ListGroup(string group, TimeSpan timeout) => inner.ListGroup(group, timeout);
    public Metadata GetMetadata(TimeSpan timeout) => inner.GetMetadata(timeout);
    public Task CreatePartitionsAsync(IEnumerable<PartitionsSpecification> partitionsSpecifications, CreatePartitionsOptions? options = null) => inner.CreatePartitionsAsync(partitionsSpecifications, options);
    public Task DeleteGroupsAsync(IList<string> groups, DeleteGroupsOptions? options = null) => inner.DeleteGroupsAsync(groups, options);
    public Task DeleteTopicsAsync(IEnumerable<string> topics, DeleteTopicsOptions? options = null) => inner.DeleteTopicsAsync(topics, options);
    public Task CreateTopicsAsync(IEnumerable<TopicSpecification> topics, CreateTopicsOptions? options = null) => inner.CreateTopicsAsync(topics, options);
    public Task AlterConfigsAsync(Dictionary<ConfigResource, List<ConfigEntry>> configs, AlterConfigsOptions? options = null) => inner.AlterConfigsAsync(configs, options);
    public Task<List<IncrementalAlterConfigsResult>> IncrementalAlterConfigsAsync(Dictionary<ConfigResource, List<ConfigEntry>> configs, IncrementalAlterConfigsOptions? options = null) => inner.IncrementalAlterConfigsAsync(configs, options);
    public Task<List<DescribeConfigsResult>> DescribeConfigsAsync(IEnumerable<ConfigResource> resources, DescribeConfigsOptions? options = null) => inner.DescribeConfigsAsync(resources, options);
    public Task<List<DeleteRecordsResult>> DeleteRecordsAsync(IEnumerable<TopicPartitionOffset> topicPartitionOffsets, DeleteRecordsOptions? options = null) => inner.DeleteRecordsAsync(topicPartitionOffsets, options);
    public Task CreateAclsAsync(IEnumerable<AclBinding> aclBindings, CreateAclsOptions? options = null) => inner.CreateAclsAsync(aclBindings, options);
    public Task<DescribeAclsResult> DescribeAclsAsync(AclBindingFilter aclBindingFilter, DescribeAclsOptions? options = null) => inner.DescribeAclsAsync(aclBindingFilter, options);
    public Task<List<DeleteAclsResult>> DeleteAclsAsync(IEnumerable<AclBindingFilter> aclBindingFilters, DeleteAclsOptions? options = null) => inner.DeleteAclsAsync(aclBindingFilters, options);
    public Task<DeleteConsumerGroupOffsetsResult> DeleteConsumerGroupOffsetsAsync(string group, IEnumerable<TopicPartition> partitions, DeleteConsumerGroupOffsetsOptions? options = null) => inner.DeleteConsumerGroupOffsetsAsync(group, partitions, options);
    public Task<List<AlterConsumerGroupOffsetsResult>> AlterConsumerGroupOffsetsAsync(IEnumerable<ConsumerGroupTopicPartitionOffsets> groupPartitions, AlterConsumerGroupOffsetsOptions? options = null) => inner.AlterConsumerGroupOffsetsAsync(groupPartitions, options);
    public Task<List<ListConsumerGroupOffsetsResult>> ListConsumerGroupOffsetsAsync(IEnumerable<ConsumerGroupTopicPartitions> groupPartitions, ListConsumerGroupOffsetsOptions? options = null) => inner.ListConsumerGroupOffsetsAsync(groupPartitions, options);
    public Task<ListConsumerGroupsResult> ListConsumerGroupsAsync(ListConsumerGroupsOptions? options = null) => inner.ListConsumerGroupsAsync(options);
    public Task<DescribeConsumerGroupsResult> DescribeConsumerGroupsAsync(IEnumerable<string> groups, DescribeConsumerGroupsOptions? options = null) => inner.DescribeConsumerGroupsAsync(groups, options);
    public Task<DescribeUserScramCredentialsResult> DescribeUserScramCredentialsAsync(IEnumerable<string> users, DescribeUserScramCredentialsOptions? options = null) => inner.DescribeUserScramCredentialsAsync(users, options);
    public Task AlterUserScramCredentialsAsync(IEnumerable<UserScramCredentialAlteration> alterations, AlterUserScramCredentialsOptions? options = null) => inner.AlterUserScramCredentialsAsync(alterations, options);

    public void Dispose()
    {
        cache.Dispose();
        inner.Dispose();
    }
}
