/**
 * Read-only snapshots of the IOASID service for operators, shells and tests. Each is a copy made
 * at one moment; changing it changes nothing.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package ioasid.api.dto;
