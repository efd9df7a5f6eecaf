/**
 * Contract suites for plug-ins: abstract JUnit 5 test classes that a plug-in's own unit tests
 * extend with a factory for the implementation under test.
 *
 * <ul>
 * <li>{@link ioasid.testkit.contracts.IommuBackendContract} plays the IOMMU core against an
 * {@link ioasid.api.iommu.spi.IommuBackend}: the attach invariant, page tables and IOTLB, PASID
 * limits, teardown order, departure, refused configurations and the data-path contract.
 * <li>{@link ioasid.testkit.contracts.IoasidAllocatorContract} plays the IOASID core against an
 * {@link ioasid.api.spi.IoasidAllocator}: ranges, duplicates, exhaustion, shared helpers and
 * failures.
 * <li>{@link ioasid.testkit.contracts.IoasidListenerContract} delivers events to an
 * {@link ioasid.api.spi.IoasidListener} through an IOASID core: calls back into the service
 * without waiting, no blocking, replay.
 * </ul>
 *
 * Each test names the rule or decision it checks ("rule 58", "D17"); the numbers are those of
 * the platform's {@code docs/rules.md} and {@code docs/decisions.md}. A subclass inherits every
 * test; tests that need a capability the implementation lacks (PASIDs, a second page size, a
 * known capacity) are skipped, not failed.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package ioasid.testkit.contracts;
