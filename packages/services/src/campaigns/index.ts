export { audienceWhere } from './audience.ts';
export { cancelCampaign, createCampaign, updateCampaign } from './edit.ts';
export * from './execute.ts';
export { getCampaign, listCampaigns, previewCampaign } from './read.ts';
