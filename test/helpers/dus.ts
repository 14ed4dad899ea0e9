/** A ucdevice.upx body with the fields the DUS audit log records (spec §6.2; element names GUESS). */
export const upxRequest = (version: string, mac = '00-04-F2-11-22-33'): string =>
  `<?xml version="1.0" encoding="utf-8"?><Request><DeviceType>UCPhone</DeviceType><MacAddress>${mac}</MacAddress>` +
  `<SerialNumber>SN1</SerialNumber><Vendor>Polycom</Vendor><Model>CX700</Model><Revision>A</Revision>` +
  `<Locale>ENU</Locale><Modules><Module><Filename>CPE.nbt</Filename><Version>${version}</Version>` +
  `<Timestamp>2009-01-01T00:00:00Z</Timestamp></Module></Modules><UserId>CORP\\alice</UserId></Request>`
