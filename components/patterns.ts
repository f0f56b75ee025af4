// Pure: the forms of values the components and the stack config both check, written once.

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
export const IPV4_PATTERN = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
export const CIDR_PATTERN = new RegExp(`^${OCTET}(\\.${OCTET}){3}\\/(3[0-2]|[12]?\\d)$`);
/** A pinned release, MAJOR.MINOR.PATCH with an optional leading v. */
export const VERSION_PATTERN = /^v?\d+\.\d+\.\d+$/;
