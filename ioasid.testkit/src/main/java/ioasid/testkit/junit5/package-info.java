/**
 * JUnit 5 suites inside an OSGi framework: {@link ioasid.testkit.junit5.IoasidExtension} gives
 * a test the platform ({@link ioasid.testkit.osgi.IoasidPlatform}) and event recorders
 * ({@link ioasid.testkit.osgi.IoasidEvents}) as parameters, and puts the framework back as the
 * test found it: configurations, bundles and backends.
 *
 * <p>It needs the JUnit Jupiter API (5.8 or newer) and no other test framework; it works beside
 * osgi-test's extension ({@code org.osgi.test.junit5}), whose {@code @InjectService} and
 * {@code @InjectBundleContext} a suite may use as well, under any runner that starts JUnit inside
 * the framework, such as bnd's {@code biz.aQute.tester.junit-platform}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.testkit.junit5;
